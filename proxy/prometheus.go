package proxy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// promDef is one metric of haproxy 2.6's Prometheus exporter: section,
// name, type, the `show info` field or stats column it reports, and its
// help text (names, types and help read from haproxy 2.6.12's own
// /metrics output).
type promDef struct {
	section, name, typ, src, help string
}

var promDefs = []promDef{
	{"process", "nbthread", "gauge", "Nbthread", "Number of started threads (global.nbthread)"},
	{"process", "nbproc", "gauge", "Nbproc", "Number of started worker processes (historical, always 1)"},
	{"process", "relative_process_id", "gauge", "Process_num", "Relative worker process number (1)"},
	{"process", "uptime_seconds", "gauge", "Uptime_sec", "How long ago this worker process was started (seconds)"},
	{"process", "pool_failures_total", "counter", "PoolFailed", "Number of failed pool allocations since this worker was started"},
	{"process", "max_fds", "gauge", "Ulimit-n", "Hard limit on the number of per-process file descriptors"},
	{"process", "max_sockets", "gauge", "Maxsock", "Hard limit on the number of per-process sockets"},
	{"process", "max_connections", "gauge", "Maxconn", "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)"},
	{"process", "hard_max_connections", "gauge", "Hard_maxconn", "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)"},
	{"process", "current_connections", "gauge", "CurrConns", "Current number of connections on this worker process"},
	{"process", "connections_total", "counter", "CumConns", "Total number of connections on this worker process since started"},
	{"process", "requests_total", "counter", "CumReq", "Total number of requests on this worker process since started"},
	{"process", "max_ssl_connections", "gauge", "MaxSslConns", "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited"},
	{"process", "current_ssl_connections", "gauge", "CurrSslConns", "Current number of SSL endpoints on this worker process (front+back)"},
	{"process", "ssl_connections_total", "counter", "CumSslConns", "Total number of SSL endpoints on this worker process since started (front+back)"},
	{"process", "max_pipes", "gauge", "Maxpipes", "Hard limit on the number of pipes for splicing, 0=unlimited"},
	{"process", "pipes_used_total", "counter", "PipesUsed", "Current number of pipes in use in this worker process"},
	{"process", "pipes_free_total", "counter", "PipesFree", "Current number of allocated and available pipes in this worker process"},
	{"process", "current_connection_rate", "gauge", "ConnRate", "Number of front connections created on this worker process over the last second"},
	{"process", "limit_connection_rate", "gauge", "ConnRateLimit", "Hard limit for ConnRate (global.maxconnrate)"},
	{"process", "max_connection_rate", "gauge", "MaxConnRate", "Highest ConnRate reached on this worker process since started (in connections per second)"},
	{"process", "current_session_rate", "gauge", "SessRate", "Number of sessions created on this worker process over the last second"},
	{"process", "limit_session_rate", "gauge", "SessRateLimit", "Hard limit for SessRate (global.maxsessrate)"},
	{"process", "max_session_rate", "gauge", "MaxSessRate", "Highest SessRate reached on this worker process since started (in sessions per second)"},
	{"process", "current_ssl_rate", "gauge", "SslRate", "Number of SSL connections created on this worker process over the last second"},
	{"process", "limit_ssl_rate", "gauge", "SslRateLimit", "Hard limit for SslRate (global.maxsslrate)"},
	{"process", "max_ssl_rate", "gauge", "MaxSslRate", "Highest SslRate reached on this worker process since started (in connections per second)"},
	{"process", "current_frontend_ssl_key_rate", "gauge", "SslFrontendKeyRate", "Number of SSL keys created on frontends in this worker process over the last second"},
	{"process", "max_frontend_ssl_key_rate", "gauge", "SslFrontendMaxKeyRate", "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)"},
	{"process", "frontend_ssl_reuse", "gauge", "SslFrontendSessionReuse_pct", "Percent of frontend SSL connections which did not require a new key"},
	{"process", "current_backend_ssl_key_rate", "gauge", "SslBackendKeyRate", "Number of SSL keys created on backends in this worker process over the last second"},
	{"process", "max_backend_ssl_key_rate", "gauge", "SslBackendMaxKeyRate", "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)"},
	{"process", "ssl_cache_lookups_total", "counter", "SslCacheLookups", "Total number of SSL session ID lookups in the SSL session cache on this worker since started"},
	{"process", "ssl_cache_misses_total", "counter", "SslCacheMisses", "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started"},
	{"process", "http_comp_bytes_in_total", "counter", "CompressBpsIn", "Number of bytes submitted to the HTTP compressor in this worker process over the last second"},
	{"process", "http_comp_bytes_out_total", "counter", "CompressBpsOut", "Number of bytes emitted by the HTTP compressor in this worker process over the last second"},
	{"process", "limit_http_comp", "gauge", "CompressBpsRateLim", "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled"},
	{"process", "current_zlib_memory", "gauge", "", "Amount of memory currently used by HTTP compression on the current worker process (in bytes)"},
	{"process", "max_zlib_memory", "gauge", "", "Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)"},
	{"process", "current_tasks", "gauge", "Tasks", "Total number of tasks in the current worker process (active + sleeping)"},
	{"process", "current_run_queue", "gauge", "Run_queue", "Total number of active tasks+tasklets in the current worker process"},
	{"process", "idle_time_percent", "gauge", "Idle_pct", "Percentage of last second spent waiting in the current worker thread"},
	{"process", "stopping", "gauge", "Stopping", "1 if the worker process is currently stopping, otherwise zero"},
	{"process", "jobs", "gauge", "Jobs", "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)"},
	{"process", "unstoppable_jobs", "gauge", "Unstoppable Jobs", "Current number of unstoppable jobs on the current worker process (master connections)"},
	{"process", "listeners", "gauge", "Listeners", "Current number of active listeners on the current worker process"},
	{"process", "active_peers", "gauge", "ActivePeers", "Current number of verified active peers connections on the current worker process"},
	{"process", "connected_peers", "gauge", "ConnectedPeers", "Current number of peers having passed the connection step on the current worker process"},
	{"process", "dropped_logs_total", "counter", "DroppedLogs", "Total number of dropped logs for current worker process since started"},
	{"process", "busy_polling_enabled", "gauge", "BusyPolling", "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)"},
	{"process", "failed_resolutions", "counter", "FailedResolutions", "Total number of failed DNS resolutions in current worker process since started"},
	{"process", "bytes_out_total", "counter", "TotalBytesOut", "Total number of bytes emitted by current worker process since started"},
	{"process", "spliced_bytes_out_total", "counter", "TotalSplicdedBytesOut", "Total number of bytes emitted by current worker process through a kernel pipe since started"},
	{"process", "bytes_out_rate", "gauge", "BytesOutRate", "Number of bytes emitted by current worker process over the last second"},
	{"process", "recv_logs_total", "counter", "CumRecvLogs", "Total number of log messages received by log-forwarding listeners on this worker process since started"},
	{"process", "build_info", "gauge", "build", "Build info"},
	{"process", "max_memory_bytes", "gauge", "Memmax_bytes", "Worker process's hard limit on memory usage in byes (-m on command line)"},
	{"process", "pool_allocated_bytes", "gauge", "PoolAlloc_bytes", "Amount of memory allocated in pools (in bytes)"},
	{"process", "pool_used_bytes", "gauge", "PoolUsed_bytes", "Amount of pool memory currently used (in bytes)"},
	{"process", "start_time_seconds", "gauge", "Start_time_sec", "Start time in seconds"},
	{"frontend", "current_sessions", "gauge", "scur", "Number of current sessions on the frontend, backend or server"},
	{"frontend", "max_sessions", "gauge", "smax", "Highest value of current sessions encountered since process started"},
	{"frontend", "limit_sessions", "gauge", "slim", "Frontend/listener/server's maxconn, backend's fullconn"},
	{"frontend", "sessions_total", "counter", "stot", "Total number of sessions since process started"},
	{"frontend", "bytes_in_total", "counter", "bin", "Total number of request bytes since process started"},
	{"frontend", "bytes_out_total", "counter", "bout", "Total number of response bytes since process started"},
	{"frontend", "requests_denied_total", "counter", "dreq", "Total number of denied requests since process started"},
	{"frontend", "responses_denied_total", "counter", "dresp", "Total number of denied responses since process started"},
	{"frontend", "request_errors_total", "counter", "ereq", "Total number of invalid requests since process started"},
	{"frontend", "status", "gauge", "status", "Current status of the service, per state label value."},
	{"frontend", "limit_session_rate", "gauge", "rate_lim", "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)"},
	{"frontend", "max_session_rate", "gauge", "rate_max", "Highest value of sessions per second observed since the worker process started"},
	{"frontend", "http_responses_total", "counter", "hrsp", "Total number of HTTP responses with status 100-199 returned by this object since the worker process started"},
	{"frontend", "http_requests_rate_max", "gauge", "req_rate_max", "Highest value of http requests observed since the worker process started"},
	{"frontend", "http_requests_total", "counter", "req_tot", "Total number of HTTP requests processed by this object since the worker process started"},
	{"frontend", "http_comp_bytes_in_total", "counter", "comp_in", "Total number of bytes submitted to the HTTP compressor for this object since the worker process started"},
	{"frontend", "http_comp_bytes_out_total", "counter", "comp_out", "Total number of bytes emitted by the HTTP compressor for this object since the worker process started"},
	{"frontend", "http_comp_bytes_bypassed_total", "counter", "comp_byp", "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)"},
	{"frontend", "http_comp_responses_total", "counter", "comp_rsp", "Total number of HTTP responses that were compressed for this object since the worker process started"},
	{"frontend", "connections_rate_max", "gauge", "conn_rate_max", "Highest value of connections per second observed since the worker process started"},
	{"frontend", "connections_total", "counter", "conn_tot", "Total number of new connections accepted on this frontend since the worker process started"},
	{"frontend", "intercepted_requests_total", "counter", "intercepted", "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started"},
	{"frontend", "denied_connections_total", "counter", "dcon", "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started"},
	{"frontend", "denied_sessions_total", "counter", "dses", "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started"},
	{"frontend", "failed_header_rewriting_total", "counter", "wrew", "Total number of failed HTTP header rewrites since the worker process started"},
	{"frontend", "http_cache_lookups_total", "counter", "cache_lookups", "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started"},
	{"frontend", "http_cache_hits_total", "counter", "cache_hits", "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started"},
	{"frontend", "internal_errors_total", "counter", "eint", "Total number of internal errors since process started"},
	{"backend", "current_queue", "gauge", "qcur", "Number of current queued connections"},
	{"backend", "max_queue", "gauge", "qmax", "Highest value of queued connections encountered since process started"},
	{"backend", "current_sessions", "gauge", "scur", "Number of current sessions on the frontend, backend or server"},
	{"backend", "max_sessions", "gauge", "smax", "Highest value of current sessions encountered since process started"},
	{"backend", "limit_sessions", "gauge", "slim", "Frontend/listener/server's maxconn, backend's fullconn"},
	{"backend", "sessions_total", "counter", "stot", "Total number of sessions since process started"},
	{"backend", "bytes_in_total", "counter", "bin", "Total number of request bytes since process started"},
	{"backend", "bytes_out_total", "counter", "bout", "Total number of response bytes since process started"},
	{"backend", "requests_denied_total", "counter", "dreq", "Total number of denied requests since process started"},
	{"backend", "responses_denied_total", "counter", "dresp", "Total number of denied responses since process started"},
	{"backend", "connection_errors_total", "counter", "econ", "Total number of failed connections to server since the worker process started"},
	{"backend", "response_errors_total", "counter", "eresp", "Total number of invalid responses since the worker process started"},
	{"backend", "retry_warnings_total", "counter", "wretr", "Total number of server connection retries since the worker process started"},
	{"backend", "redispatch_warnings_total", "counter", "wredis", "Total number of server redispatches due to connection failures since the worker process started"},
	{"backend", "status", "gauge", "status", "Current status of the service, per state label value."},
	{"backend", "weight", "gauge", "weight", "Server's effective weight, or sum of active servers' effective weights for a backend"},
	{"backend", "active_servers", "gauge", "act", "Total number of active UP servers with a non-zero weight"},
	{"backend", "backup_servers", "gauge", "bck", "Total number of backup UP servers with a non-zero weight"},
	{"backend", "check_up_down_total", "counter", "chkdown", "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started"},
	{"backend", "check_last_change_seconds", "gauge", "lastchg", "How long ago the last server state changed, in seconds"},
	{"backend", "downtime_seconds_total", "counter", "downtime", "Total time spent in DOWN state, for server or backend"},
	{"backend", "loadbalanced_total", "counter", "lbtot", "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)"},
	{"backend", "max_session_rate", "gauge", "rate_max", "Highest value of sessions per second observed since the worker process started"},
	{"backend", "http_responses_total", "counter", "hrsp", "Total number of HTTP responses with status 100-199 returned by this object since the worker process started"},
	{"backend", "http_requests_total", "counter", "req_tot", "Total number of HTTP requests processed by this object since the worker process started"},
	{"backend", "client_aborts_total", "counter", "cli_abrt", "Total number of requests or connections aborted by the client since the worker process started"},
	{"backend", "server_aborts_total", "counter", "srv_abrt", "Total number of requests or connections aborted by the server since the worker process started"},
	{"backend", "http_comp_bytes_in_total", "counter", "comp_in", "Total number of bytes submitted to the HTTP compressor for this object since the worker process started"},
	{"backend", "http_comp_bytes_out_total", "counter", "comp_out", "Total number of bytes emitted by the HTTP compressor for this object since the worker process started"},
	{"backend", "http_comp_bytes_bypassed_total", "counter", "comp_byp", "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)"},
	{"backend", "http_comp_responses_total", "counter", "comp_rsp", "Total number of HTTP responses that were compressed for this object since the worker process started"},
	{"backend", "last_session_seconds", "gauge", "lastsess", "How long ago some traffic was seen on this object on this worker process, in seconds"},
	{"backend", "queue_time_average_seconds", "gauge", "qtime", "Avg. queue time for last 1024 successful connections."},
	{"backend", "connect_time_average_seconds", "gauge", "ctime", "Avg. connect time for last 1024 successful connections."},
	{"backend", "response_time_average_seconds", "gauge", "rtime", "Avg. response time for last 1024 successful connections."},
	{"backend", "total_time_average_seconds", "gauge", "ttime", "Avg. total time for last 1024 successful connections."},
	{"backend", "failed_header_rewriting_total", "counter", "wrew", "Total number of failed HTTP header rewrites since the worker process started"},
	{"backend", "connection_attempts_total", "counter", "connect", "Total number of outgoing connection attempts on this backend/server since the worker process started"},
	{"backend", "connection_reuses_total", "counter", "reuse", "Total number of reused connection on this backend/server since the worker process started"},
	{"backend", "http_cache_lookups_total", "counter", "cache_lookups", "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started"},
	{"backend", "http_cache_hits_total", "counter", "cache_hits", "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started"},
	{"backend", "max_queue_time_seconds", "gauge", "qtime_max", "Maximum observed time spent in the queue"},
	{"backend", "max_connect_time_seconds", "gauge", "ctime_max", "Maximum observed time spent waiting for a connection to complete"},
	{"backend", "max_response_time_seconds", "gauge", "rtime_max", "Maximum observed time spent waiting for a server response"},
	{"backend", "max_total_time_seconds", "gauge", "ttime_max", "Maximum observed total request+response time (request+queue+connect+response+processing)"},
	{"backend", "internal_errors_total", "counter", "eint", "Total number of internal errors since process started"},
	{"backend", "uweight", "gauge", "uweight", "Server's user weight, or sum of active servers' user weights for a backend"},
	{"backend", "agg_server_status", "gauge", "agg_server_status", "Backend's aggregated gauge of servers' status"},
	{"backend", "agg_server_check_status", "gauge", "agg_server_check_status", "Backend's aggregated gauge of servers' state check status"},
	{"backend", "agg_check_status", "gauge", "agg_check_status", "Backend's aggregated gauge of servers' state check status"},
	{"server", "current_queue", "gauge", "qcur", "Number of current queued connections"},
	{"server", "max_queue", "gauge", "qmax", "Highest value of queued connections encountered since process started"},
	{"server", "current_sessions", "gauge", "scur", "Number of current sessions on the frontend, backend or server"},
	{"server", "max_sessions", "gauge", "smax", "Highest value of current sessions encountered since process started"},
	{"server", "limit_sessions", "gauge", "slim", "Frontend/listener/server's maxconn, backend's fullconn"},
	{"server", "sessions_total", "counter", "stot", "Total number of sessions since process started"},
	{"server", "bytes_in_total", "counter", "bin", "Total number of request bytes since process started"},
	{"server", "bytes_out_total", "counter", "bout", "Total number of response bytes since process started"},
	{"server", "responses_denied_total", "counter", "dresp", "Total number of denied responses since process started"},
	{"server", "connection_errors_total", "counter", "econ", "Total number of failed connections to server since the worker process started"},
	{"server", "response_errors_total", "counter", "eresp", "Total number of invalid responses since the worker process started"},
	{"server", "retry_warnings_total", "counter", "wretr", "Total number of server connection retries since the worker process started"},
	{"server", "redispatch_warnings_total", "counter", "wredis", "Total number of server redispatches due to connection failures since the worker process started"},
	{"server", "status", "gauge", "status", "Current status of the service, per state label value."},
	{"server", "weight", "gauge", "weight", "Server's effective weight, or sum of active servers' effective weights for a backend"},
	{"server", "check_failures_total", "counter", "chkfail", "Total number of failed individual health checks per server/backend, since the worker process started"},
	{"server", "check_up_down_total", "counter", "chkdown", "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started"},
	{"server", "check_last_change_seconds", "gauge", "lastchg", "How long ago the last server state changed, in seconds"},
	{"server", "downtime_seconds_total", "counter", "downtime", "Total time spent in DOWN state, for server or backend"},
	{"server", "queue_limit", "gauge", "qlimit", "Limit on the number of connections in queue, for servers only (maxqueue argument)"},
	{"server", "current_throttle", "gauge", "throttle", "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)"},
	{"server", "loadbalanced_total", "counter", "lbtot", "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)"},
	{"server", "max_session_rate", "gauge", "rate_max", "Highest value of sessions per second observed since the worker process started"},
	{"server", "http_responses_total", "counter", "hrsp", "Total number of HTTP responses with status 100-199 returned by this object since the worker process started"},
	{"server", "check_status", "gauge", "check_status", "Status of last health check, per state label value."},
	{"server", "check_code", "gauge", "check_code", "layer5-7 code, if available of the last health check."},
	{"server", "check_duration_seconds", "gauge", "check_duration", "Total duration of the latest server health check, in seconds."},
	{"server", "client_aborts_total", "counter", "cli_abrt", "Total number of requests or connections aborted by the client since the worker process started"},
	{"server", "server_aborts_total", "counter", "srv_abrt", "Total number of requests or connections aborted by the server since the worker process started"},
	{"server", "last_session_seconds", "gauge", "lastsess", "How long ago some traffic was seen on this object on this worker process, in seconds"},
	{"server", "queue_time_average_seconds", "gauge", "qtime", "Avg. queue time for last 1024 successful connections."},
	{"server", "connect_time_average_seconds", "gauge", "ctime", "Avg. connect time for last 1024 successful connections."},
	{"server", "response_time_average_seconds", "gauge", "rtime", "Avg. response time for last 1024 successful connections."},
	{"server", "total_time_average_seconds", "gauge", "ttime", "Avg. total time for last 1024 successful connections."},
	{"server", "failed_header_rewriting_total", "counter", "wrew", "Total number of failed HTTP header rewrites since the worker process started"},
	{"server", "connection_attempts_total", "counter", "connect", "Total number of outgoing connection attempts on this backend/server since the worker process started"},
	{"server", "connection_reuses_total", "counter", "reuse", "Total number of reused connection on this backend/server since the worker process started"},
	{"server", "idle_connections_current", "gauge", "srv_icur", "Current number of idle connections available for reuse on this server"},
	{"server", "idle_connections_limit", "gauge", "src_ilim", "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)"},
	{"server", "max_queue_time_seconds", "gauge", "qtime_max", "Maximum observed time spent in the queue"},
	{"server", "max_connect_time_seconds", "gauge", "ctime_max", "Maximum observed time spent waiting for a connection to complete"},
	{"server", "max_response_time_seconds", "gauge", "rtime_max", "Maximum observed time spent waiting for a server response"},
	{"server", "max_total_time_seconds", "gauge", "ttime_max", "Maximum observed total request+response time (request+queue+connect+response+processing)"},
	{"server", "internal_errors_total", "counter", "eint", "Total number of internal errors since process started"},
	{"server", "unsafe_idle_connections_current", "gauge", "idle_conn_cur", "Current number of unsafe idle connections"},
	{"server", "safe_idle_connections_current", "gauge", "safe_conn_cur", "Current number of safe idle connections"},
	{"server", "used_connections_current", "gauge", "used_conn_cur", "Current number of connections in use"},
	{"server", "need_connections_current", "gauge", "need_conn_est", "Estimated needed number of connections"},
	{"server", "uweight", "gauge", "uweight", "Server's user weight, or sum of active servers' user weights for a backend"}}

// promHTTPOnly are the metrics only http-mode proxies have.
var promHTTPOnly = map[string]bool{"hrsp": true, "req_rate_max": true, "req_tot": true, "comp_in": true, "comp_out": true,
	"comp_byp": true, "comp_rsp": true, "intercepted": true, "cache_lookups": true, "cache_hits": true}

// promSeconds are the columns in milliseconds that the exporter gives in
// seconds.
var promSeconds = map[string]bool{"qtime": true, "ctime": true, "rtime": true, "ttime": true, "qtime_max": true,
	"ctime_max": true, "rtime_max": true, "ttime_max": true, "check_duration": true}

var (
	promSrvStates   = []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}
	promCheckStates = []string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}
)

// promState maps a server status column to the exporter's state label.
func promState(status string) string {
	switch {
	case status == "no check" || strings.HasPrefix(status, "UP"):
		return "UP"
	case strings.HasPrefix(status, "DOWN"):
		return "DOWN"
	case strings.HasPrefix(status, "NOLB"):
		return "NOLB"
	}
	return status
}

// Metrics renders the Prometheus exposition of haproxy 2.6's exporter
// (haproxy_process_*, haproxy_frontend_*, haproxy_backend_*,
// haproxy_server_*) followed by gohaka_vrrp_* from extra.
func (r *Runtime) Metrics() string {
	var b strings.Builder
	info := map[string]string{}
	for _, l := range strings.Split(r.showInfo(), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			info[k] = v
		}
	}
	rows := r.statRows(true)
	byType := [3][]*statRow{}
	for _, row := range rows {
		byType[row.typ] = append(byType[row.typ], row)
	}
	// servers of each backend, for the agg_* gauges
	servers := map[string][]*statRow{}
	for _, row := range byType[rowServer] {
		servers[row.px] = append(servers[row.px], row)
	}
	for _, d := range promDefs {
		var samples []string
		add := func(labels, v string) {
			samples = append(samples, fmt.Sprintf("haproxy_%s_%s{%s} %s", d.section, d.name, labels, v))
		}
		switch d.section {
		case "process":
			switch d.src {
			case "build":
				add(`version="`+Version+`"`, "1")
			case "":
				add("", "0")
			default:
				v := info[d.src]
				if v == "" {
					v = "0"
				}
				add("", v)
			}
		default:
			typ := map[string]int{"frontend": rowFrontend, "backend": rowBackend, "server": rowServer}[d.section]
			for _, row := range byType[typ] {
				r.promSamples(d, row, servers[row.px], add)
			}
		}
		if len(samples) == 0 {
			continue
		}
		if d.src == "hrsp" { // haproxy lists them code by code, then proxy by proxy
			sort.SliceStable(samples, func(i, j int) bool { return hrspCode(samples[i]) < hrspCode(samples[j]) })
		}
		fmt.Fprintf(&b, "# HELP haproxy_%s_%s %s\n# TYPE haproxy_%s_%s %s\n", d.section, d.name, d.help, d.section, d.name, d.typ)
		for _, s := range samples {
			b.WriteString(strings.Replace(s, "{}", "", 1))
			b.WriteByte('\n')
		}
	}
	r.obs.extraMu.Lock()
	extra := r.obs.extraMetrics
	r.obs.extraMu.Unlock()
	if extra != nil {
		b.WriteString(extra())
	}
	return b.String()
}

// hrspCode ranks an http_responses_total sample by its code label.
func hrspCode(sample string) int {
	for i, c := range []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"} {
		if strings.Contains(sample, `code="`+c+`"`) {
			return i
		}
	}
	return 6
}

func (r *Runtime) promSamples(d promDef, row *statRow, servers []*statRow, add func(labels, v string)) {
	labels := `proxy="` + row.px + `"`
	if row.typ == rowServer {
		labels += `,server="` + row.sv + `"`
	}
	if promHTTPOnly[d.src] && !row.http {
		return
	}
	fields := row.fields()
	get := func(col string) string { return fields[colIndex(col)] }
	switch d.src {
	case "status":
		st := row.f["status"]
		if row.typ == rowServer {
			cur := promState(st)
			for _, s := range promSrvStates {
				add(labels+`,state="`+s+`"`, b01(s == cur))
			}
			return
		}
		up := st == "OPEN" || st == "UP"
		add(labels+`,state="DOWN"`, b01(!up))
		add(labels+`,state="UP"`, b01(up))
		return
	case "hrsp":
		for _, c := range []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"} {
			add(labels+`,code="`+c+`"`, orNaN(get("hrsp_"+c)))
		}
		return
	case "agg_server_status", "agg_server_check_status":
		counts := map[string]int{}
		for _, s := range servers {
			counts[promState(s.f["status"])]++
		}
		for _, s := range promSrvStates {
			add(labels+`,state="`+s+`"`, strconv.Itoa(counts[s]))
		}
		return
	case "agg_check_status":
		counts := map[string]int{}
		for _, s := range servers {
			if s.hasCheck {
				counts[s.f["check_status"]]++
			}
		}
		for _, s := range promCheckStates {
			add(labels+`,state="`+s+`"`, strconv.Itoa(counts[s]))
		}
		return
	case "check_status":
		if !row.hasCheck {
			return
		}
		cur := row.f["check_status"]
		for _, s := range promCheckStates {
			add(labels+`,state="`+s+`"`, b01(s == cur))
		}
		return
	case "check_code", "check_duration":
		if !row.hasCheck {
			return
		}
		v := get(d.src)
		if v == "" {
			v = "0"
		}
		if promSeconds[d.src] {
			v = msToSeconds(v)
		}
		add(labels, v)
		return
	}
	v := get(d.src)
	switch {
	case v == "":
		v = "NaN"
	case promSeconds[d.src]:
		v = msToSeconds(v)
	}
	add(labels, v)
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func orNaN(v string) string {
	if v == "" {
		return "NaN"
	}
	return v
}

func msToSeconds(v string) string {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return "NaN"
	}
	return fmt.Sprintf("%f", n/1000)
}

// SetExtraMetrics adds metrics after haproxy's (gohaka_vrrp_* from the
// VRRP instances that run beside the proxies).
func (r *Runtime) SetExtraMetrics(f func() string) {
	r.obs.extraMu.Lock()
	r.obs.extraMetrics = f
	r.obs.extraMu.Unlock()
}
