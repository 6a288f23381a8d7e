"""The embedded lab: simulated sites on loopback, each a vcsim and a ZVM simulator."""
