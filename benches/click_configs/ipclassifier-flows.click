// IPClassifier, many flows: the 6-way IPClassifier of classifier.click on IP/UDP packets
// whose port pair changes with every packet (DynamicUDPIPEncap), a round-robin over 7
// rewrites making consecutive packets take different rules.
define($LIMIT 1000000)
c :: Counter;
InfiniteSource(DATA \<000000000000000050020000000000000000>, LIMIT $LIMIT, BURST 32, STOP true)
  -> DynamicUDPIPEncap(10.0.0.1, 1024, 10.1.0.2, 2048, false, 1)
  -> rr :: RoundRobinSwitch;
rr[0] -> StoreData(9, \<06>) -> StoreData(22, \<0050>) -> c;   // tcp dst port 80
rr[1] -> StoreData(9, \<06>) -> StoreData(22, \<01bb>) -> c;   // tcp dst port 443
rr[2] -> StoreData(22, \<0035>) -> c;                          // udp dst port 53
rr[3] -> StoreData(9, \<01>) -> StoreData(20, \<0800>) -> c;   // icmp echo
rr[4] -> StoreData(22, \<0050>) -> c;                          // udp dst port 80
rr[5] -> StoreData(9, \<06>) -> c;                             // tcp, other ports
rr[6] -> c;                                                    // udp, other ports
c -> ipc :: IPClassifier(tcp dst port 80, tcp dst port 443, udp dst port 53, icmp type echo,
                         udp dst port 80, -);
ipc[0] -> o0 :: Counter -> Discard;
ipc[1] -> o1 :: Counter -> Discard;
ipc[2] -> o2 :: Counter -> Discard;
ipc[3] -> o3 :: Counter -> Discard;
ipc[4] -> o4 :: Counter -> Discard;
ipc[5] -> o5 :: Counter -> Discard;
