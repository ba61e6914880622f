//! Click configuration archives (`ar` files with a `config` member), as
//! click-fastclassifier and click-install write them. Only the configuration is used:
//! the compiled packages cannot load into a Rust engine, so the classes that
//! click-fastclassifier generated (listed in its `fastclassifier_info` member) are mapped
//! back to the classifiers they were generated from.

/// One archive member.
struct Member<'a> {
    name: String,
    data: &'a [u8],
}

fn members(bytes: &[u8]) -> Option<Vec<Member<'_>>> {
    let mut rest = bytes.strip_prefix(b"!<arch>\n")?;
    let mut out = Vec::new();
    while rest.len() >= 60 {
        let (hdr, body) = rest.split_at(60);
        if &hdr[58..60] != b"`\n" {
            return None;
        }
        let field = |a: usize, b: usize| String::from_utf8_lossy(&hdr[a..b]).trim().to_string();
        let size: usize = field(48, 58).parse().ok()?;
        let data = body.get(..size)?;
        let raw_name = field(0, 16);
        // BSD long names: "#1/LEN", the name starts the data.
        let (name, data) = match raw_name.strip_prefix("#1/") {
            Some(n) => {
                let n: usize = n.parse().ok()?;
                let (nm, d) = data.split_at(n.min(data.len()));
                (
                    String::from_utf8_lossy(nm)
                        .trim_end_matches('\0')
                        .to_string(),
                    d,
                )
            }
            None => (raw_name.trim_end_matches('/').to_string(), data),
        };
        out.push(Member { name, data });
        rest = &body[(size + (size & 1)).min(body.len())..];
    }
    Some(out)
}

/// The configuration text of an archive, with click-fastclassifier's generated classes
/// replaced by their original class and configuration; `None` if `bytes` is no archive.
pub fn config(bytes: &[u8]) -> Option<Result<String, String>> {
    let ms = members(bytes)?;
    let Some(conf) = ms.iter().find(|m| m.name == "config") else {
        return Some(Err("archive has no 'config' member".into()));
    };
    let mut text = String::from_utf8_lossy(conf.data).into_owned();
    if let Some(info) = ms.iter().find(|m| m.name == "fastclassifier_info") {
        for line in String::from_utf8_lossy(info.data).lines() {
            let mut f = line.splitn(3, '\t');
            let (Some(gen), Some(class), Some(cfg)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let cfg = click::args::unquote(cfg);
            text = text.replace(gen, &format!("{class}({cfg})"));
        }
    }
    Some(Ok(text))
}

#[cfg(test)]
mod tests {
    /// A member as click-fastclassifier writes it (BSD `#1/LEN` names when long).
    fn member(name: &str, data: &str) -> Vec<u8> {
        let (field, body) = if name.len() > 15 {
            (format!("#1/{}", name.len()), format!("{name}{data}"))
        } else {
            (name.to_string(), data.to_string())
        };
        let size = body.len();
        let mut v = format!(
            "{field:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
            0, 0, 0, 644
        )
        .into_bytes();
        v.extend_from_slice(body.as_bytes());
        if size % 2 == 1 {
            v.push(b'\n');
        }
        v
    }

    #[test]
    fn fastclassifier_archive_maps_generated_classes_back() {
        let mut a = b"!<arch>\n".to_vec();
        a.extend(member(
            "config",
            "f :: FastIPFilter@@f;\nIdle -> f -> Discard;",
        ));
        a.extend(member(
            "fastclassifier_info",
            "FastIPFilter@@f\tIPFilter\t\"0 tcp, 1 -\"\n",
        ));
        let text = super::config(&a).unwrap().unwrap();
        assert_eq!(text, "f :: IPFilter(0 tcp, 1 -);\nIdle -> f -> Discard;");
        assert!(super::config(b"Idle -> Discard;").is_none());
        let mut bad = b"!<arch>\n".to_vec();
        bad.extend(member("other", "x"));
        assert!(super::config(&bad).unwrap().is_err());
    }
}
