//VNF_HEADER
//VNF_VERSION: 1.0
//VNF_ID: 6f1c2a10-0b1e-4c55-9a01-000000000003
//VNF_PROVIDER: coo bench
//VNF_NAME: firewall classifier
//VNF_RELEASE_DATE: 2025-01-01
//VNF_RELEASE_VERSION: 1.0
//VNF_RELEASE_LIFESPAN: 2030-01-01
//VNF_DESCRIPTION: Stateless firewall with IPClassifier (port 0 to port 1)

// Same policy as firewall-ipfilter.click, written with an IPClassifier whose outputs are
// wired to pass or drop: drop sources in 198.18.128.0/17; pass UDP and TCP to
// 198.19.0.0/16 port 5001 and ICMP; drop everything else, non-IPv4 included.
// The reverse direction (port 1 -> port 0) is not filtered.

in0 :: FromDPDKDevice(0);
out1 :: ToDPDKDevice(1);
drop :: Discard;

in0 -> eth :: Classifier(12/0800, -)
    -> CheckIPHeader(OFFSET 14)
    -> rules :: IPClassifier(
        src net 198.18.128.0/17,
        udp and dst net 198.19.0.0/16 and dst port 5001,
        tcp and dst net 198.19.0.0/16 and dst port 5001,
        icmp,
        -);
eth[1] -> drop;

rules[0] -> drop;
rules[1] -> out1;
rules[2] -> out1;
rules[3] -> out1;
rules[4] -> drop;

FromDPDKDevice(1) -> ToDPDKDevice(0);
