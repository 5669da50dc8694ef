import { assertEquals } from "../tests/assert.ts";
import { formatDefaults } from "./defaults.ts";
import { formatVerbose } from "./load.ts";
import { loadWith } from "../tests/support/config.ts";

// Captured from the real /usr/libexec/heartbeat/heartbeat -D, -DW and -v.
const REAL_DEFAULTS = `
Directive                Default   Description
--------------------------------------------------------------------------------
cluster                  linux-ha  the name of cluster
hopfudge                 1         # of hops above cluster size
keepalive                1000ms    keepalive time
deadtime                 30000ms   node deadtime
baud                     19200     baud rate
auto_failback            legacy    auto failback
hbgenmethod              file      protocol generation computation method
realtime                 true      enable realtime behavior?
msgfmt                   classic   message format in the wire
conn_logd_time           60        the interval to reconnect to logd
log_badpack              true      warn about bad packets
syslogmsgfmt             true      log to files in syslog format
coredumps                true      enable Linux-HA core dumps
pacemaker                false     enable Pacemaker resource management
autojoin                 none      set automatic join mode/style
uuidfrom                 file      set the source for uuid
compression              zlib      set compression module
compression_threshold    2         set compression threshold
traditional_compression  no        set traditional_compression
max_rexmit_delay         250       set the maximum rexmit delay time
record_config_changes    on        record changes to the cib (valid only with: pacemaker on)
record_pengine_inputs    on        record the input used by the policy engine (valid only with: pacemaker on)
enable_config_writes     on        write configuration changes to disk (valid only with: pacemaker on)
memreserve               6500      number of kbytes to preallocate in heartbeat
`;
const REAL_DEFAULTS_WIKI = `
##Put this output in the ha.cf/DefaultValues page
The [wiki:ha.cf ha.cf] directives with default values are shown below - along with a brief description.
This was produced by {{{heartbeat -DW}}} ''# (version 3.0.6)''

||''Directive''||''Default''||''Description''||
||[wiki:ha.cf/ClusterDirective cluster]||linux-ha||the name of cluster||
||[wiki:ha.cf/HopfudgeDirective hopfudge]||1||# of hops above cluster size||
||[wiki:ha.cf/KeepaliveDirective keepalive]||1000ms||keepalive time||
||[wiki:ha.cf/DeadtimeDirective deadtime]||30000ms||node deadtime||
||[wiki:ha.cf/BaudDirective baud]||19200||baud rate||
||[wiki:ha.cf/AutoFailbackDirective auto_failback]||legacy||auto failback||
||[wiki:ha.cf/HbgenmethodDirective hbgenmethod]||file||protocol generation computation method||
||[wiki:ha.cf/RealtimeDirective realtime]||true||enable realtime behavior?||
||[wiki:ha.cf/MsgfmtDirective msgfmt]||classic||message format in the wire||
||[wiki:ha.cf/ConnLogdTimeDirective conn_logd_time]||60||the interval to reconnect to logd||
||[wiki:ha.cf/LogBadpackDirective log_badpack]||true||warn about bad packets||
||[wiki:ha.cf/SyslogmsgfmtDirective syslogmsgfmt]||true||log to files in syslog format||
||[wiki:ha.cf/CoredumpsDirective coredumps]||true||enable Linux-HA core dumps||
||[wiki:ha.cf/PacemakerDirective pacemaker]||false||enable Pacemaker resource management||
||[wiki:ha.cf/AutojoinDirective autojoin]||none||set automatic join mode/style||
||[wiki:ha.cf/UuidfromDirective uuidfrom]||file||set the source for uuid||
||[wiki:ha.cf/CompressionDirective compression]||zlib||set compression module||
||[wiki:ha.cf/CompressionThresholdDirective compression_threshold]||2||set compression threshold||
||[wiki:ha.cf/TraditionalCompressionDirective traditional_compression]||no||set traditional_compression||
||[wiki:ha.cf/MaxRexmitDelayDirective max_rexmit_delay]||250||set the maximum rexmit delay time||
||[wiki:ha.cf/RecordConfigChangesDirective record_config_changes]||on||record changes to the cib (valid only with: pacemaker on)||
||[wiki:ha.cf/RecordPengineInputsDirective record_pengine_inputs]||on||record the input used by the policy engine (valid only with: pacemaker on)||
||[wiki:ha.cf/EnableConfigWritesDirective enable_config_writes]||on||write configuration changes to disk (valid only with: pacemaker on)||
||[wiki:ha.cf/MemreserveDirective memreserve]||6500||number of kbytes to preallocate in heartbeat||
`;
const REAL_VERBOSE = `
#
#	Linux-HA heartbeat configuration (on node1)
#

#---------------------------------------------------
#
#	HA configuration and status
#
cluster	linux-ha	#	the name of cluster
hopfudge	1	#	# of hops above cluster size
keepalive	500ms	#	keepalive time
deadtime	5	#	node deadtime
deadping	5000ms	#	ping deadtime
initdead	12000ms	#	initial deadtime
warntime	2500ms	#	warning time
baud	19200	#	baud rate
udpport	694	#	UDP port number
logfile	/var/log/ha-log	#	log file
debugfile	/var/log/ha-debug	#	debug file
auto_failback	off	#	auto failback
hbgenmethod	file	#	protocol generation computation method
realtime	off	#	enable realtime behavior?
debug	0	#	debug level
msgfmt	classic	#	message format in the wire
conn_logd_time	60	#	the interval to reconnect to logd
log_badpack	true	#	warn about bad packets
syslogmsgfmt	true	#	log to files in syslog format
coredumps	true	#	enable Linux-HA core dumps
pacemaker	false	#	enable Pacemaker resource management
autojoin	none	#	set automatic join mode/style
uuidfrom	file	#	set the source for uuid
compression	zlib	#	set compression module
compression_threshold	2	#	set compression threshold
traditional_compression	no	#	set traditional_compression
max_rexmit_delay	250	#	set the maximum rexmit delay time
record_config_changes	on	#	record changes to the cib (valid only with: pacemaker on)
record_pengine_inputs	on	#	record the input used by the policy engine (valid only with: pacemaker on)
enable_config_writes	on	#	write configuration changes to disk (valid only with: pacemaker on)
memreserve	6500	#	number of kbytes to preallocate in heartbeat
#
#	HA Cluster nodes:
#
node node1	#	 current status: init
node node2	#	 current status: init
node 198.18.5.9	#	 current status: init
#
#	Communications media:
#
# UDP/IP broadcast heartbeat channel -------------
bcast eth0
#
# UDP/IP multicast heartbeat channel -------------
mcast eth0
#
# UDP/IP unicast heartbeat channel -------------
ucast eth0
#
# ping membership heartbeat channel -------------
ping 198.18.5.9
#---------------------------------------------------
`;

Deno.test("formatDefaults matches heartbeat -D and -DW byte for byte", () => {
  assertEquals(formatDefaults(false), REAL_DEFAULTS.slice(1));
  assertEquals(formatDefaults(true), REAL_DEFAULTS_WIKI.slice(1));
});

Deno.test("formatVerbose matches heartbeat -v", () => {
  const r = loadWith([], {
    base: [
      "keepalive 500ms",
      "deadtime 5",
      "node node1 node2",
      "realtime off",
      "logfile /var/log/ha-log",
      "debugfile /var/log/ha-debug",
      "auto_failback off",
      "bcast eth0",
      "mcast eth0 239.0.0.1 694 1 0",
      "ucast eth0 198.18.5.2",
      "ping 198.18.5.9",
    ],
  });
  assertEquals(r.exitCode, 0);
  assertEquals(formatVerbose(r.config!), REAL_VERBOSE.slice(1));
});
