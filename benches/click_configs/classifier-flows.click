// Classifier, many flows: an 11-way Ethernet Classifier (ARP, IPv6, VLAN, IP protocols and
// ports) on frames whose UDP/TCP port pair changes with every packet (DynamicUDPIPEncap), a
// round-robin over 11 rewrites making consecutive packets take different patterns.
define($LIMIT 1000000)
c :: Counter;
InfiniteSource(DATA \<000000000000000050020000000000000000>, LIMIT $LIMIT, BURST 32, STOP true)
  -> DynamicUDPIPEncap(10.0.0.1, 1024, 10.1.0.2, 2048, false, 1)
  -> EtherEncap(0x0800, 00:00:c0:4f:71:ef, 00:00:c0:ae:67:ef)
  -> rr :: RoundRobinSwitch;
rr[0] -> StoreData(12, \<0806>) -> StoreData(20, \<0001>) -> c;   // ARP request
rr[1] -> StoreData(12, \<0806>) -> StoreData(20, \<0002>) -> c;   // ARP reply
rr[2] -> StoreData(12, \<86dd>) -> c;                             // IPv6
rr[3] -> StoreData(12, \<8100>) -> c;                             // VLAN
rr[4] -> StoreData(23, \<06>) -> StoreData(36, \<0050>) -> c;     // tcp dst port 80
rr[5] -> StoreData(23, \<06>) -> StoreData(36, \<01bb>) -> c;     // tcp dst port 443
rr[6] -> StoreData(23, \<06>) -> c;                               // tcp, other ports
rr[7] -> StoreData(23, \<01>) -> c;                               // icmp
rr[8] -> StoreData(36, \<0035>) -> c;                             // udp dst port 53
rr[9] -> c;                                                       // udp, other ports
rr[10] -> StoreData(12, \<88cc>) -> c;                            // other ethertype
c -> cl :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/86dd, 12/8100,
                      12/0800 23/06 36/0050, 12/0800 23/06 36/01bb, 12/0800 23/06,
                      12/0800 23/01, 12/0800 23/11 36/0035, 12/0800 23/11, -);
cl[0] -> o0 :: Counter -> Discard;
cl[1] -> o1 :: Counter -> Discard;
cl[2] -> o2 :: Counter -> Discard;
cl[3] -> o3 :: Counter -> Discard;
cl[4] -> o4 :: Counter -> Discard;
cl[5] -> o5 :: Counter -> Discard;
cl[6] -> o6 :: Counter -> Discard;
cl[7] -> o7 :: Counter -> Discard;
cl[8] -> o8 :: Counter -> Discard;
cl[9] -> o9 :: Counter -> Discard;
cl[10] -> o10 :: Counter -> Discard;
