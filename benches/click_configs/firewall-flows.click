// Firewall, many flows: the 11 rules of firewall.click, denied packets to output 1.
// One source; DynamicUDPIPEncap gives every packet a new port pair (65536 flows per cycle)
// and a round-robin over 11 rewrites makes packet i hit rule i mod 11 (interleaved).
define($LIMIT 1000000)
c :: Counter;
InfiniteSource(DATA \<000000000000000050020000000000000000>, LIMIT $LIMIT, BURST 32, STOP true)
  -> DynamicUDPIPEncap(10.0.0.1, 1024, 10.3.0.1, 2048, false, 1)
  -> rr :: RoundRobinSwitch;
rr[0] -> StoreData(12, \<c0a80101>) -> c;                           // src 192.168.1.1
rr[1] -> StoreData(16, \<ac100101>) -> c;                           // dst 172.16.1.1
rr[2] -> StoreData(9, \<06>) -> StoreData(22, \<0017>) -> c;        // tcp dst port 23
rr[3] -> StoreData(22, \<00a1>) -> c;                               // udp dst port 161
rr[4] -> StoreData(9, \<06>) -> StoreData(22, \<0016>) -> c;        // tcp dst port 22
rr[5] -> StoreData(12, \<0a000063>) -> c;                           // src 10.0.0.99
rr[6] -> StoreData(9, \<01>) -> StoreData(20, \<0800>) -> c;        // icmp echo
rr[7] -> StoreData(22, \<0035>) -> c;                               // udp dst port 53
rr[8] -> StoreData(16, \<0a010002>) -> StoreData(22, \<0050>) -> c; // 10.1.0.2 udp 80
rr[9] -> StoreData(16, \<0a020001>) -> c;                           // dst 10.2.0.1
rr[10] -> c;                                                        // no allow rule
c -> f :: IPFilter(1 src net 192.168.0.0/16,
                   1 dst net 172.16.0.0/12,
                   1 tcp dst port 23,
                   1 udp dst port 161,
                   0 tcp dst port 22,
                   0 src host 10.0.0.99,
                   1 icmp type echo,
                   0 udp dst port 53,
                   0 dst net 10.1.0.0/16 && udp && dst port 80,
                   0 dst net 10.2.0.0/16,
                   1 all);
f[0] -> allowed :: Counter -> Discard;
f[1] -> denied :: Counter -> Discard;
