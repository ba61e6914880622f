//VNF_HEADER
//VNF_VERSION: 1.0
//VNF_ID: 6f1c2a10-0b1e-4c55-9a01-000000000006
//VNF_PROVIDER: coo bench
//VNF_NAME: firewall
//VNF_RELEASE_DATE: 2025-01-01
//VNF_RELEASE_VERSION: 1.0
//VNF_RELEASE_LIFESPAN: 2030-01-01
//VNF_DESCRIPTION: Stateless firewall like PyCOO firewall.click (ICMP dropped, TCP passed)

// The policy of PyCOO's example firewall (port 0 -> port 1): ARP passes, TCP passes, ICMP is
// dropped with a message, other IPv4 (UDP included) and other protocols are dropped.
// The reverse direction (port 1 -> port 0) is not filtered.

in0 :: FromDPDKDevice(0);
out1 :: ToDPDKDevice(1);

in0 -> eth :: Classifier(12/0806, 12/0800, -);
eth[0] -> CheckARPHeader(14) -> out1;
eth[1] -> CheckIPHeader(OFFSET 14) -> proto :: IPClassifier(icmp, tcp, -);
eth[2] -> Print("non-IP drop") -> Discard;

proto[0] -> Print("ICMP drop") -> Discard;
proto[1] -> out1;
proto[2] -> Discard;

FromDPDKDevice(1) -> ToDPDKDevice(0);
