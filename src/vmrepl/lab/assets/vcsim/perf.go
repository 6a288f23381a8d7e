package main

// The lab's performance history. govmomi 0.24's QueryPerf returns a series with random
// gaussian noise, unaligned timestamps (now, now-interval, ...) and zero samples when the
// request sets no maxSample; its PerformanceManager lists no historical intervals. The lab
// replaces it with one that answers like a vCenter at statistics level 2: the four default
// historical intervals (past day 300 s, week 1800 s, month 7200 s, year 86400 s), samples at
// multiples of the interval in (startTime, endTime], oldest first, and a value that is a pure
// function of (entity, counter, sample time) - so two reads of the same window return the same
// samples, as they do from a real vCenter's database.
//
// The value (for a rate counter, in the counter's unit) is a daily curve around a base that
// depends on the entity's moref: base in [5, 60), times 1 + 0.6*sin(2*pi*(time of day)/24h),
// times 0.8..1.2 of pseudo-noise, times 4 in about 1 sample of 97 (a burst).

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type perfManager struct {
	simulator.PerformanceManager
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// perfValue is the lab's sample of counter for entity at the sample time t (Unix seconds).
func perfValue(entity string, counter int32, t int64) int64 {
	c := strconv.Itoa(int(counter))
	base := 5 + float64(hash64(entity, c)%55)
	day := float64(t%86400) / 86400
	noise := 0.8 + 0.4*float64(hash64(entity, c, strconv.FormatInt(t, 10))%1000)/1000
	v := base * (1 + 0.6*math.Sin(2*math.Pi*day)) * noise
	if hash64("burst", entity, c, strconv.FormatInt(t, 10))%97 == 0 {
		v *= 4
	}
	return int64(math.Round(v))
}

func (p *perfManager) QueryPerf(ctx *simulator.Context, req *types.QueryPerf) soap.HasFault {
	body := new(methods.QueryPerfBody)
	body.Req = req
	body.Res = new(types.QueryPerfResponse)
	now := time.Now()
	for _, qs := range req.QuerySpec {
		interval := int64(qs.IntervalId)
		if interval <= 0 {
			interval = 20 // realtime
		}
		end := now
		if qs.EndTime != nil {
			end = *qs.EndTime
		}
		start := end.Add(-time.Hour)
		if qs.StartTime != nil {
			start = *qs.StartTime
		}
		// Sample times: multiples of the interval in (start, end], oldest first.
		var times []int64
		for t := (start.Unix()/interval + 1) * interval; t <= end.Unix(); t += interval {
			times = append(times, t)
		}
		if qs.MaxSample > 0 && int32(len(times)) > qs.MaxSample {
			times = times[len(times)-int(qs.MaxSample):] // the most recent ones
		}
		metrics := &types.PerfEntityMetric{PerfEntityMetricBase: types.PerfEntityMetricBase{Entity: qs.Entity}}
		for _, t := range times {
			metrics.SampleInfo = append(metrics.SampleInfo, types.PerfSampleInfo{
				Timestamp: time.Unix(t, 0).UTC(), Interval: int32(interval),
			})
		}
		for _, mid := range qs.MetricId {
			series := &types.PerfMetricIntSeries{PerfMetricSeries: types.PerfMetricSeries{Id: mid}}
			for _, t := range times {
				series.Value = append(series.Value, perfValue(qs.Entity.Value+"/"+mid.Instance, mid.CounterId, t))
			}
			metrics.Value = append(metrics.Value, series)
		}
		body.Res.Returnval = append(body.Res.Returnval, metrics)
	}
	return body
}

// installPerfManager puts the lab's performance manager in place of govmomi's, with the
// historical intervals of a vCenter whose past day and past week are at level (the others 1).
func installPerfManager(level int32) {
	instance := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	ref := *instance.Content.PerfManager
	current := simulator.Map.Get(ref).(*simulator.PerformanceManager)
	replacement := &perfManager{PerformanceManager: *current}
	replacement.HistoricalInterval = []types.PerfInterval{
		{Key: 1, SamplingPeriod: 300, Name: "Past day", Length: 86400, Level: level, Enabled: true},
		{Key: 2, SamplingPeriod: 1800, Name: "Past week", Length: 604800, Level: level, Enabled: true},
		{Key: 3, SamplingPeriod: 7200, Name: "Past month", Length: 2592000, Level: 1, Enabled: true},
		{Key: 4, SamplingPeriod: 86400, Name: "Past year", Length: 31536000, Level: 1, Enabled: true},
	}
	simulator.Map.Put(replacement)
}
