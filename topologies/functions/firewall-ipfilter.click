//VNF_HEADER
//VNF_VERSION: 1.0
//VNF_ID: 6f1c2a10-0b1e-4c55-9a01-000000000002
//VNF_PROVIDER: coo bench
//VNF_NAME: firewall ipfilter
//VNF_RELEASE_DATE: 2025-01-01
//VNF_RELEASE_VERSION: 1.0
//VNF_RELEASE_LIFESPAN: 2030-01-01
//VNF_DESCRIPTION: Stateless firewall with IPFilter rules (port 0 to port 1)

// Policy (same as firewall-classifier.click): drop sources in 198.18.128.0/17; pass UDP and TCP
// to 198.19.0.0/16 port 5001 and ICMP; drop everything else, non-IPv4 included.
// Frames keep their Ethernet header: CheckIPHeader(OFFSET 14) only marks the IP header behind it.
// The reverse direction (port 1 -> port 0) is not filtered.

in0 :: FromDPDKDevice(0);
out1 :: ToDPDKDevice(1);

in0 -> eth :: Classifier(12/0800, -)
    -> CheckIPHeader(OFFSET 14)
    -> filter :: IPFilter(
        deny src net 198.18.128.0/17,
        allow udp and dst net 198.19.0.0/16 and dst port 5001,
        allow tcp and dst net 198.19.0.0/16 and dst port 5001,
        allow icmp,
        deny all)
    -> out1;
eth[1] -> Discard;

FromDPDKDevice(1) -> ToDPDKDevice(0);
