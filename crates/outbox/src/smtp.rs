//! A minimal SMTP client for a relay inside the deployment's network: EHLO, AUTH PLAIN
//! when the URL has a user, one message, QUIT. No TLS (relays on the internal network or
//! localhost are the common case for government deployments; put a TLS-capable relay in
//! front for anything else). Lines and the body are dot-stuffed; the subject is encoded
//! as RFC 2047 base64 UTF-8, the body sent as 8-bit UTF-8 text.

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Target {
    host: String,
    port: u16,
    user: String,
    pass: String,
}

fn parse(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("smtp://")
        .ok_or("smtp: URL must start with smtp://")?;
    let (auth, hostport) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let hostport = hostport.trim_end_matches('/');
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().map_err(|_| "smtp: bad port")?),
        None => (hostport.to_string(), 25),
    };
    let (user, pass) = match auth.map(|a| a.split_once(':').unwrap_or((a, ""))) {
        Some((u, p)) => (decode(u), decode(p)),
        None => (String::new(), String::new()),
    };
    Ok(Target {
        host,
        port,
        user,
        pass,
    })
}

/// Percent-decoding for user and password in the URL (`%40` for `@` and so on).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Conn {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Conn {
    /// Reads one (possibly multi-line) reply; errors unless its code starts with `want`.
    async fn expect(&mut self, want: char) -> Result<(), String> {
        loop {
            let mut line = String::new();
            let n = self
                .r
                .read_line(&mut line)
                .await
                .map_err(|e| format!("smtp: {e}"))?;
            if n == 0 {
                return Err("smtp: connection closed".into());
            }
            if line.len() >= 4 && line.as_bytes()[3] == b'-' {
                continue;
            }
            return if line.starts_with(want) {
                Ok(())
            } else {
                Err(format!("smtp: {}", line.trim_end()))
            };
        }
    }

    async fn cmd(&mut self, line: &str, want: char) -> Result<(), String> {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| format!("smtp: {e}"))?;
        self.expect(want).await
    }
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

pub async fn send(
    url: &str,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let t = parse(url)?;
    let stream = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| format!("smtp connect: {e}"))?;
    let (r, w) = stream.into_split();
    let mut c = Conn {
        r: BufReader::new(r),
        w,
    };
    c.expect('2').await?;
    c.cmd("EHLO yidu", '2').await?;
    if !t.user.is_empty() {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{}\0{}", t.user, t.pass));
        c.cmd(&format!("AUTH PLAIN {token}"), '2').await?;
    }
    c.cmd(&format!("MAIL FROM:<{}>", clean(from)), '2').await?;
    c.cmd(&format!("RCPT TO:<{}>", clean(to)), '2').await?;
    c.cmd("DATA", '3').await?;
    let subject_enc = format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(clean(subject))
    );
    let mut data = format!(
        "From: <{}>\r\nTo: <{}>\r\nSubject: {subject_enc}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        clean(from),
        clean(to)
    );
    for line in body.lines() {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push('.');
    c.cmd(&data, '2').await?;
    let _ = c.cmd("QUIT", '2').await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = parse("smtp://u%40x:p%3Aw@relay.local:2525").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str(), t.pass.as_str()),
            ("relay.local", 2525, "u@x", "p:w")
        );
        let t = parse("smtp://127.0.0.1").unwrap();
        assert_eq!((t.port, t.user.as_str()), (25, ""));
        assert!(parse("http://x").is_err());
    }

    /// A one-shot fake relay on 127.0.0.1 that accepts everything and returns the DATA.
    #[tokio::test]
    async fn sends_to_a_local_relay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            w.write_all(b"220 hi\r\n").await.unwrap();
            let mut seen = String::new();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                seen.push_str(&line);
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    }
                    continue;
                }
                let reply: &[u8] = if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go\r\n"
                } else if line.starts_with("QUIT") {
                    w.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    b"250 ok\r\n"
                };
                w.write_all(reply).await.unwrap();
            }
            seen
        });
        send(
            &format!("smtp://u:p@127.0.0.1:{port}"),
            "a@x",
            "b@y",
            "主题",
            "第一行\n.点开头",
        )
        .await
        .unwrap();
        let seen = server.await.unwrap();
        assert!(seen.contains("AUTH PLAIN "));
        assert!(seen.contains("RCPT TO:<b@y>"));
        assert!(seen.contains("第一行\r\n..点开头\r\n"));
    }
}
