package parser

import "strings"

// kaListBlocks are the blocks whose lines are items (addresses, names,
// routes), not keywords.
var kaListBlocks = map[string]bool{
	"virtual_ipaddress": true, "virtual_ipaddress_excluded": true, "virtual_routes": true,
	"virtual_rules": true, "track_script": true, "track_interface": true, "track_file": true,
	"track_process": true, "track_bfd": true, "unicast_peer": true, "notification_email": true,
	"group": true, "static_ipaddress": true, "static_routes": true, "static_rules": true,
	"virtual_server_group": true, "linkbeat_interfaces": true, "track_group": true,
	"garp_group": true, "interface_up_down_delays": true, "vrrp_garp_extra_if": true,
}

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// kaBlocks maps a block keyword to the context its statements are read in.
var kaBlocks = map[string]string{
	"global_defs": "global_defs", "vrrp_script": "vrrp_script", "vrrp_instance": "vrrp_instance",
	"vrrp_sync_group": "vrrp_sync_group", "virtual_server": "virtual_server", "real_server": "real_server",
	"authentication": "authentication", "TCP_CHECK": "checker", "HTTP_GET": "http_checker",
	"SSL_GET": "http_checker", "MISC_CHECK": "checker", "SMTP_CHECK": "checker", "DNS_CHECK": "checker",
	"UDP_CHECK": "checker", "PING_CHECK": "checker", "FILE_CHECK": "checker", "BFD_CHECK": "checker",
	"url": "url", "SSL": "ssl", "vrrp_track_file": "track_file_def", "track_file": "track_file_def",
	"vrrp_track_process": "track_process_def", "track_process": "track_process_def", "bfd_instance": "bfd",
	"host": "checker",
}

// kaKeywords lists, per context, every keyword keepalived 2.2.7 knows there.
var kaKeywords = map[string]map[string]bool{
	"top": words(`global_defs vrrp_script vrrp_instance vrrp_sync_group virtual_server virtual_server_group
		static_ipaddress static_routes static_rules vrrp_track_file track_file vrrp_track_process track_process
		bfd_instance linkbeat_interfaces track_group garp_group net_namespace net_namespace_ipvs instance
		use_pid_dir namespace_with_ipsets interface_up_down_delays`),
	"global_defs": words(`router_id notification_email notification_email_from smtp_server smtp_helo_name
		smtp_connect_timeout smtp_alert smtp_alert_vrrp smtp_alert_checker checker_log_all_failures no_email_faults
		lvs_timeouts lvs_flush lvs_flush_onstop lvs_sync_daemon vrrp_mcast_group4 vrrp_mcast_group6
		vrrp_garp_master_delay vrrp_garp_master_repeat vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat
		vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat vrrp_garp_interval vrrp_gna_interval vrrp_min_garp
		vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert vrrp_version vrrp_iptables vrrp_ipsets
		vrrp_check_unicast_src vrrp_skip_check_adv_addr vrrp_strict vrrp_priority checker_priority bfd_priority
		vrrp_no_swap checker_no_swap bfd_no_swap vrrp_rt_priority checker_rt_priority bfd_rt_priority
		vrrp_rlimit_rttime checker_rlimit_rttime bfd_rlimit_rttime vrrp_rlimit_rtime checker_rlimit_rtime bfd_rlimit_rtime
		snmp_socket enable_snmp_vrrp enable_snmp_keepalived enable_snmp_checker enable_snmp_rfc enable_snmp_rfcv2
		enable_snmp_rfcv3 enable_traps enable_dbus enable_dbus_instance_name dynamic_interfaces script_user
		enable_script_security notify_fifo notify_fifo_script vrrp_notify_fifo vrrp_notify_fifo_script
		lvs_notify_fifo lvs_notify_fifo_script default_interface process_names process_name vrrp_process_name
		lvs_process_name bfd_process_name umask max_auto_priority min_auto_priority_delay vrrp_startup_delay
		vrrp_down_timer_adverts vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs
		vrrp_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs process_monitor_rcv_bufs_force
		lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force
		rs_init_notifies no_checker_emails vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier nftables nftables_priority
		nftables_ifindex nftables_counters random_seed reload_check_config reload_time_file reload_repeat reload_file
		config_save_dir data_use_instance linkbeat_use_polling vrrp_linkbeat_use_polling checker_cpu_affinity
		vrrp_cpu_affinity bfd_cpu_affinity vrrp_garp_extra_if vrrp_garp_extra_if_delay net_namespace
		net_namespace_ipvs namespace_with_ipsets instance include_check vrrp_tracking_wait vrrp_socket_priority
		use_symlink_paths vrrp_startup_delay_ms smtp_sslmode local_name startup_script startup_script_timeout
		shutdown_script shutdown_script_timeout lvs_sync_daemon_interface vrrp_mcast_group4_ttl`),
	"vrrp_script": words(`script interval timeout weight rise fall user init_fail`),
	"vrrp_instance": words(`state interface virtual_router_id priority advert_int authentication virtual_ipaddress
		virtual_ipaddress_excluded virtual_routes virtual_rules track_script track_interface track_file track_process
		track_bfd unicast_src_ip unicast_peer mcast_src_ip unicast_ttl check_unicast_src unicast_fault_no_peer
		old_unicast_checksum mcast_dst_ip notify_master notify_backup notify_fault notify_stop notify notify_deleted
		notify_master_rx_lower_pri notify_priority_changes smtp_alert nopreempt preempt preempt_delay
		garp_master_delay garp_master_repeat garp_master_refresh garp_master_refresh_repeat garp_lower_prio_delay
		garp_lower_prio_repeat lower_prio_no_advert higher_prio_send_advert use_vmac vmac_xmit_base use_vmac_addr
		use_ipvlan native_ipv6 version dont_track_primary accept no_accept strict_mode skip_check_adv_addr
		promote_secondaries debug linkbeat_use_polling track_src_ip down_timer_adverts kernel_rx_buf_size
		no_virtual_ipaddress lvs_sync_daemon_interface sync_group_tracking_weight vrf`),
	"authentication": words(`auth_type auth_pass`),
	"vrrp_sync_group": words(`group notify_master notify_backup notify_fault notify_stop notify smtp_alert
		global_tracking sync_group_tracking_weight track_script track_interface track_file track_process track_bfd`),
	"virtual_server": words(`delay_loop lb_algo lvs_sched lb_kind lvs_method protocol persistence_timeout
		persistence_granularity persistence_engine virtualhost sorry_server sorry_server_inhibit sorry_server_lvs_method
		ha_suspend ops one_packet_scheduling quorum quorum_up quorum_down hysteresis alpha omega retry
		delay_before_retry connect_timeout warmup inhibit_on_failure ip_family smtp_alert real_server
		flag-1 flag-2 flag-3 sh-port sh-fallback mh-port mh-fallback tunnel_type tunnel_port tunnel_nocsum
		tunnel_csum tunnel_remcsum`),
	"real_server": words(`weight inhibit_on_failure notify_up notify_down uthreshold lthreshold alpha omega retry
		delay_before_retry connect_timeout warmup delay_loop virtualhost smtp_alert lvs_method tunnel_type
		tunnel_port tunnel_nocsum tunnel_csum tunnel_remcsum TCP_CHECK HTTP_GET SSL_GET MISC_CHECK SMTP_CHECK
		DNS_CHECK UDP_CHECK PING_CHECK FILE_CHECK BFD_CHECK`),
	"checker": words(`connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry
		delay_before_retry warmup delay_loop alpha omega misc_path misc_timeout misc_dynamic user helo_name host
		type name payload require_reply min_reply_length max_reply_length log_all_failures file track_file weight
		reverse`),
	"http_checker": words(`url connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry
		nb_get_retry delay_before_retry warmup delay_loop http_protocol virtualhost enable_sni fast_recovery
		alpha omega log_all_failures`),
	"url":               words(`path digest status_code regex regex_no_match regex_options regex_stack regex_min_offset regex_max_offset virtualhost`),
	"ssl":               words(`password ca certificate key cipher`),
	"track_file_def":    words(`file weight init_file`),
	"track_process_def": words(`process param_match weight quorum quorum_max fork_delay terminate_delay delay full_command`),
	"bfd":               words(`source_ip neighbor_ip min_rx min_tx idle_tx multiplier passive ttl max_hops weight`),
}

// kaDeprecated are keywords keepalived 2.2.7 still reads but complains
// about (keepalived -t exits 5).
var kaDeprecated = map[string]string{
	"http_checker/nb_get_retry":               "nb_get_retry is deprecated - please use 'retry'",
	"vrrp_instance/lvs_sync_daemon_interface": "Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
	"global_defs/lvs_sync_daemon_interface":   "lvs_sync_daemon_interface is deprecated - please use lvs_sync_daemon",
}

// kaImplemented are the keywords gohaka acts on; other known keywords get
// the "known, not implemented" warning.
var kaImplemented = words(`global_defs vrrp_script vrrp_instance vrrp_sync_group router_id notification_email
	notification_email_from smtp_server smtp_connect_timeout vrrp_mcast_group4 vrrp_mcast_group6 script_user
	enable_script_security vrrp_version vrrp_strict vrrp_garp_interval vrrp_gna_interval vrrp_garp_master_delay
	vrrp_garp_master_repeat vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat dynamic_interfaces
	vrrp_skip_check_adv_addr script interval timeout weight rise fall user init_fail state interface
	virtual_router_id priority advert_int authentication auth_type auth_pass virtual_ipaddress
	virtual_ipaddress_excluded virtual_routes track_script track_interface unicast_src_ip unicast_peer mcast_src_ip
	notify_master notify_backup notify_fault notify_stop notify nopreempt preempt preempt_delay garp_master_delay
	garp_master_repeat garp_master_refresh garp_master_refresh_repeat native_ipv6 version dont_track_primary
	accept no_accept group smtp_alert vrrp_track_file track_file file init_file`)
