package vocab

// How a user's address reaches the balancer (clients.identity).
const (
	// IdentityProxyProtocol opens each connection with a PROXY v1 header announcing the simulated address.
	IdentityProxyProtocol = "proxy-protocol"
	// IdentityBind connects from a real loopback source address instead: 127.x.y.z, one 127.x.y network per
	// /24 of the population (an address already in 127.0.0.0/8 is used as it is). IPv4 users only.
	IdentityBind = "bind"
	// IdentityForwardedFor sends the address in an X-Forwarded-For header, for a balancer told to trust it (a live
	// target behind an ingress, say); the connection comes from this machine.
	IdentityForwardedFor = "x-forwarded-for"
	// IdentityNone sends no address: the balancer sees this machine's, for every user.
	IdentityNone = "none"
)

// Arrival kinds (clients.arrival.kind).
const (
	ArrivalAll     = "all"     // every user is ready at the start; concurrency alone paces them
	ArrivalFixed   = "fixed"   // one user every 1/rate seconds
	ArrivalPoisson = "poisson" // exponential gaps between users, rate per second on average
)

// Think kinds (clients.think.kind).
const (
	ThinkNone        = "none"        // no pause between pages (default)
	ThinkConstant    = "constant"    // always Mean
	ThinkUniform     = "uniform"     // uniformly between Min and Max
	ThinkExponential = "exponential" // exponential with mean Mean, as many independent readers give
)
