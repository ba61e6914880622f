//! Ethernet MAC addresses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Ethernet MAC address, written `52:54:00:6c:22:13` (parsed in either case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

/// A string that is not six `:`-separated hex pairs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a MAC address (expected six hex pairs separated by `:`)")]
pub struct MacParseError(pub String);

/// Regular expression of the text form (for JSON schemas).
pub const MAC_PATTERN: &str = "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$";

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// A locally administered unicast address (bit 1 of the first byte set, bit 0 clear).
    pub fn local(bytes: [u8; 5]) -> Self {
        MacAddr([0x02, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]])
    }
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
    /// Group bit set (multicast or broadcast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
    /// Usable as a NIC address: not multicast/broadcast and not all zeros.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MacParseError(s.to_owned());
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut out {
            let part = parts.next().ok_or_else(bad)?;
            // from_str_radix alone would accept a sign ("+f").
            if part.len() != 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

impl TryFrom<String> for MacAddr {
    type Error = MacParseError;
    fn try_from(s: String) -> Result<Self, MacParseError> {
        s.parse()
    }
}

impl From<MacAddr> for String {
    fn from(m: MacAddr) -> String {
        m.to_string()
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for MacAddr {
    fn schema_name() -> String {
        "MacAddr".to_owned()
    }
    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        use schemars::schema::{InstanceType, Schema, SchemaObject, StringValidation};
        Schema::Object(SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            string: Some(Box::new(StringValidation {
                pattern: Some(MAC_PATTERN.to_owned()),
                ..Default::default()
            })),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_classes() {
        let mac: MacAddr = "52:54:00:6C:22:13".parse().unwrap();
        assert_eq!(mac.to_string(), "52:54:00:6c:22:13");
        assert_eq!(mac.octets(), [0x52, 0x54, 0x00, 0x6c, 0x22, 0x13]);
        assert!(mac.is_unicast());
        assert!("01:00:5e:00:00:01"
            .parse::<MacAddr>()
            .unwrap()
            .is_multicast());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(!"00:00:00:00:00:00".parse::<MacAddr>().unwrap().is_unicast());
        let l = MacAddr::local([1, 2, 3, 4, 5]);
        assert_eq!(l.0[0] & 0x03, 0x02);
        assert!(l.is_unicast());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "52:54:00:6c:22",
            "52:54:00:6c:22:13:00",
            "52:54:00:6c:22:1",
            "5254.006c.2213",
            "g2:54:00:6c:22:13",
            "zz:54:00:6c:22:13",
            "2:54:00:6c:22:13",
            "+f:54:00:6c:22:13",
            " 52:54:00:6c:22:13",
        ] {
            let e = bad.parse::<MacAddr>().unwrap_err();
            assert_eq!(e, MacParseError(bad.to_owned()), "{bad}");
        }
    }

    #[test]
    fn json_is_the_text_form() {
        let m = MacAddr([0x02, 0xc0, 0xb5, 0, 0, 1]);
        let j = serde_json::to_string(&m).unwrap();
        assert_eq!(j, "\"02:c0:b5:00:00:01\"");
        assert_eq!(serde_json::from_str::<MacAddr>(&j).unwrap(), m);
        let e = serde_json::from_str::<MacAddr>("\"02:c0\"").unwrap_err();
        assert!(e.to_string().contains("is not a MAC address"), "{e}");
    }
}
