// Command vcsim is the lab's vCenter simulator: govmomi's simulator with the vAPI (/rest)
// endpoints linked in, TLS from a given certificate, configurable SOAP delays, and a
// deterministic performance history at statistics level 2 (perf.go).
//
// It is built offline against Debian's golang-github-vmware-govmomi-dev (see build.sh).
// When the server is listening it prints one JSON line on stdout:
//
//	{"url": "https://127.0.0.1:PORT/sdk", "pid": N}
//
// and it runs until SIGINT or SIGTERM.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // /rest endpoints (tagging)
	"github.com/vmware/govmomi/vim25"
)

func parseMethodDelay(spec string) (map[string]int, error) {
	delays := map[string]int{}
	if spec == "" {
		return delays, nil
	}
	for _, item := range strings.Split(spec, ",") {
		parts := strings.SplitN(item, ":", 2)
		if len(parts) != 2 {
			return nil, fmt.Errorf("-method-delay item %q: want Method:milliseconds", item)
		}
		ms, err := strconv.Atoi(parts[1])
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("-method-delay item %q: milliseconds must be a whole number >= 0", item)
		}
		delays[strings.TrimSpace(parts[0])] = ms
	}
	return delays, nil
}

// callCounter counts SOAP requests by method, read from the simulator's trace, so that
// benchmarks can tell how many round trips a client made (GET /vmrepl/calls).
type callCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

var soapMethod = regexp.MustCompile(`<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)`)

func (c *callCounter) consume(r *os.File) {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1024*1024), 256*1024*1024)
	inRequest := false // a request's XML spans lines: look for its Body until the response
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, "Request: "):
			inRequest = true
		case strings.HasPrefix(line, "Response: "):
			inRequest = false
		}
		if !inRequest {
			continue
		}
		if m := soapMethod.FindStringSubmatch(line); m != nil {
			c.mu.Lock()
			c.counts[m[1]]++
			c.mu.Unlock()
			inRequest = false
		}
	}
}

func (c *callCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method == http.MethodDelete {
		c.counts = map[string]int{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c.counts)
}

func main() {
	model := simulator.VPX()

	listen := flag.String("l", "127.0.0.1:0", "listen address (host:port; port 0 picks a free one)")
	flag.IntVar(&model.Datacenter, "dc", 1, "datacenters")
	flag.IntVar(&model.Cluster, "cluster", 1, "clusters per datacenter")
	flag.IntVar(&model.ClusterHost, "host", 2, "hosts per cluster")
	flag.IntVar(&model.Host, "standalone-host", 0, "standalone hosts per datacenter")
	flag.IntVar(&model.Datastore, "ds", 2, "datastores (mounted on every host)")
	flag.IntVar(&model.Machine, "vm", 2, "virtual machines per resource pool")
	flag.IntVar(&model.Portgroup, "pg", 1, "distributed port groups per datacenter")
	flag.IntVar(&model.Pool, "pool", 0, "child resource pools per cluster")
	autostart := flag.Bool("autostart", true, "power on the model's VMs")
	username := flag.String("username", "user", "login user name")
	password := flag.String("password", "pass", "login password (prefer VCSIM_PASSWORD in the environment)")
	cert := flag.String("tlscert", "", "PEM certificate for TLS (empty: plain HTTP)")
	key := flag.String("tlskey", "", "PEM private key for -tlscert")
	delay := flag.Int("delay", 0, "milliseconds added to every SOAP call")
	methodDelay := flag.String("method-delay", "", "per-method delays, e.g. PowerOnVM_Task:500,ImportVApp:200")
	statsLevel := flag.Int("stats-level", 2, "statistics level of the past-day and past-week intervals (1-4)")
	countCalls := flag.Bool("count-calls", false, "count SOAP calls by method at GET /vmrepl/calls (DELETE resets)")
	flag.Parse()

	if env := os.Getenv("VCSIM_PASSWORD"); env != "" {
		*password = env
	}
	delays, err := parseMethodDelay(*methodDelay)
	if err != nil {
		log.Fatal(err)
	}
	model.Autostart = *autostart
	model.DelayConfig.Delay = *delay
	model.DelayConfig.MethodDelay = delays

	if err := model.Create(); err != nil {
		log.Fatalf("creating the inventory: %v", err)
	}
	defer model.Remove()
	// govmomi 0.24 means to give each vCenter its own instance UUID but assigns it to a copy:
	// every simulator would report the same one. The ZVM prefixes identifiers with it, so two
	// lab sites must differ, as two real vCenters do.
	instance := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	instance.Content.About.InstanceUuid = uuid.New().String()
	installPerfManager(int32(*statsLevel))

	model.Service.RegisterEndpoints = true
	if *countCalls {
		reader, writer, err := os.Pipe()
		if err != nil {
			log.Fatal(err)
		}
		counter := &callCounter{counts: map[string]int{}}
		go counter.consume(reader)
		simulator.Trace = true
		simulator.TraceFile = writer
		model.Service.ServeMux = http.NewServeMux()
		model.Service.ServeMux.Handle("/vmrepl/calls", counter)
	}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatalf("loading -tlscert/-tlskey: %v", err)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	}

	server := model.Service.NewServer()
	defer server.Close()

	u := *server.URL
	u.User = nil
	ready, _ := json.Marshal(map[string]interface{}{"url": u.String(), "pid": os.Getpid()})
	fmt.Println(string(ready))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
