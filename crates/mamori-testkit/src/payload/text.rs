//! Cleartext line protocols as [`Script`]s: SMTP (AUTH PLAIN / AUTH LOGIN), FTP login and
//! RETR, Telnet option negotiation and login.
//!
//! ```
//! use mamori_testkit::conv::Side;
//! use mamori_testkit::payload::text::{smtp_session, SmtpAuth};
//! let s = smtp_session("pc-05.corp.example", SmtpAuth::Plain, "alice", "s3cret", "alice@corp.example", "bob@example.net");
//! assert_eq!(s[0].0, Side::Server);
//! assert!(s.iter().any(|(_, l)| l.starts_with(b"AUTH PLAIN AGFsaWNlAHMzY3JldA==")));
//! ```

use crate::conv::{Script, Side};
use crate::payload::base64;

/// SMTP authentication mechanism used by [`smtp_session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpAuth {
    /// No authentication.
    None,
    /// AUTH PLAIN with the initial response.
    Plain,
    /// AUTH LOGIN (username and password challenges).
    Login,
}

fn c(s: &str) -> (Side, Vec<u8>) {
    (Side::Client, s.as_bytes().to_vec())
}

fn s(x: &str) -> (Side, Vec<u8>) {
    (Side::Server, x.as_bytes().to_vec())
}

/// A complete SMTP submission: greeting, EHLO, optional AUTH, one message, QUIT.
pub fn smtp_session(
    helo: &str,
    auth: SmtpAuth,
    user: &str,
    pass: &str,
    from: &str,
    to: &str,
) -> Script {
    let mut v = vec![
        s("220 mail.corp.example ESMTP Postfix (Ubuntu)\r\n"),
        c(&format!("EHLO {helo}\r\n")),
        s("250-mail.corp.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"),
    ];
    match auth {
        SmtpAuth::None => {}
        SmtpAuth::Plain => {
            let token = base64(format!("\0{user}\0{pass}").as_bytes());
            v.push(c(&format!("AUTH PLAIN {token}\r\n")));
            v.push(s("235 2.7.0 Authentication successful\r\n"));
        }
        SmtpAuth::Login => {
            v.push(c("AUTH LOGIN\r\n"));
            v.push(s("334 VXNlcm5hbWU6\r\n"));
            v.push(c(&format!("{}\r\n", base64(user.as_bytes()))));
            v.push(s("334 UGFzc3dvcmQ6\r\n"));
            v.push(c(&format!("{}\r\n", base64(pass.as_bytes()))));
            v.push(s("235 2.7.0 Authentication successful\r\n"));
        }
    }
    v.extend([
        c(&format!("MAIL FROM:<{from}>\r\n")),
        s("250 2.1.0 Ok\r\n"),
        c(&format!("RCPT TO:<{to}>\r\n")),
        s("250 2.1.5 Ok\r\n"),
        c("DATA\r\n"),
        s("354 End data with <CR><LF>.<CR><LF>\r\n"),
        c(&format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: weekly report\r\nDate: Mon, 02 Nov 2026 09:03:00 +0900\r\nMessage-ID: <20261102090300.1@corp.example>\r\n\r\nPlease find the figures below.\r\n.\r\n"
        )),
        s("250 2.0.0 Ok: queued as 4QZxYb3kLmz9\r\n"),
        c("QUIT\r\n"),
        s("221 2.0.0 Bye\r\n"),
    ]);
    v
}

/// The FTP control channel of a login and a passive-mode RETR of `file` (`size` bytes). The
/// data connection goes to `server_ip:data_port` (announced in the 227 reply).
pub fn ftp_login_retr(
    user: &str,
    pass: &str,
    server_ip: [u8; 4],
    data_port: u16,
    file: &str,
    size: usize,
) -> Script {
    let [a, b, cc, d] = server_ip;
    let (p1, p2) = (data_port >> 8, data_port & 0xFF);
    vec![
        s("220 (vsFTPd 3.0.5)\r\n"),
        c(&format!("USER {user}\r\n")),
        s("331 Please specify the password.\r\n"),
        c(&format!("PASS {pass}\r\n")),
        s("230 Login successful.\r\n"),
        c("SYST\r\n"),
        s("215 UNIX Type: L8\r\n"),
        c("TYPE I\r\n"),
        s("200 Switching to Binary mode.\r\n"),
        c("PASV\r\n"),
        s(&format!(
            "227 Entering Passive Mode ({a},{b},{cc},{d},{p1},{p2}).\r\n"
        )),
        c(&format!("RETR {file}\r\n")),
        s(&format!(
            "150 Opening BINARY mode data connection for {file} ({size} bytes).\r\n"
        )),
        s("226 Transfer complete.\r\n"),
        c("QUIT\r\n"),
        s("221 Goodbye.\r\n"),
    ]
}

/// Telnet: IAC.
pub const IAC: u8 = 255;
/// Telnet: DO.
pub const DO: u8 = 253;
/// Telnet: DONT.
pub const DONT: u8 = 254;
/// Telnet: WILL.
pub const WILL: u8 = 251;
/// Telnet: WONT.
pub const WONT: u8 = 252;
/// Telnet: SB.
pub const SB: u8 = 250;
/// Telnet: SE.
pub const SE: u8 = 240;

/// A Telnet session: option negotiation (terminal type, window size, echo, suppress go
/// ahead), login prompt, user name and password typed in cleartext, a shell prompt and one
/// command.
pub fn telnet_session(user: &str, pass: &str) -> Script {
    vec![
        (
            Side::Server,
            vec![IAC, DO, 24, IAC, DO, 32, IAC, DO, 35, IAC, DO, 39],
        ),
        (
            Side::Client,
            vec![IAC, WILL, 24, IAC, WONT, 32, IAC, WONT, 35, IAC, WONT, 39],
        ),
        (Side::Server, vec![IAC, SB, 24, 1, IAC, SE]),
        (
            Side::Client,
            [&[IAC, SB, 24, 0][..], b"XTERM", &[IAC, SE]].concat(),
        ),
        (
            Side::Server,
            vec![
                IAC, WILL, 3, IAC, DO, 1, IAC, DO, 31, IAC, WILL, 5, IAC, DO, 33,
            ],
        ),
        (
            Side::Client,
            vec![
                IAC, DO, 3, IAC, WONT, 1, IAC, WILL, 31, IAC, SB, 31, 0, 80, 0, 24, IAC, SE, IAC,
                DONT, 5, IAC, WONT, 33,
            ],
        ),
        (Side::Server, vec![IAC, WILL, 1]),
        (Side::Client, vec![IAC, DO, 1]),
        s("Ubuntu 24.04.1 LTS\r\nsw-core-01 login: "),
        c(&format!("{user}\r\n")),
        s("Password: "),
        c(&format!("{pass}\r\n")),
        s("Last login: Fri Oct 30 17:12:09 JST 2026 from 192.168.10.23 on pts/0\r\n$ "),
        c("show running-config\r\n"),
        s("hostname sw-core-01\r\n$ "),
        c("exit\r\n"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_login_encodes_user_and_password() {
        let s = smtp_session("h", SmtpAuth::Login, "alice", "pw", "a@x", "b@y");
        let lines: Vec<&[u8]> = s.iter().map(|(_, l)| l.as_slice()).collect();
        assert!(lines.contains(&b"YWxpY2U=\r\n".as_slice()));
        assert!(lines.contains(&b"cHc=\r\n".as_slice()));
        let none = smtp_session("h", SmtpAuth::None, "alice", "pw", "a@x", "b@y");
        assert!(!none.iter().any(|(_, l)| l.starts_with(b"AUTH")));
        assert_eq!(none.last().unwrap().1, b"221 2.0.0 Bye\r\n");
    }

    #[test]
    fn ftp_pasv_reply_encodes_port() {
        let s = ftp_login_retr("u", "p", [10, 0, 0, 21], 50_000, "a.bin", 10);
        let pasv = s.iter().find(|(_, l)| l.starts_with(b"227")).unwrap();
        assert_eq!(pasv.1, b"227 Entering Passive Mode (10,0,0,21,195,80).\r\n");
        assert!(s
            .iter()
            .any(|(side, l)| *side == Side::Client && l == b"PASS p\r\n"));
    }

    #[test]
    fn telnet_starts_with_iac_and_has_password() {
        let s = telnet_session("admin", "letmein");
        assert_eq!(s[0].1[0], IAC);
        assert!(s
            .iter()
            .any(|(side, l)| *side == Side::Client && l == b"letmein\r\n"));
    }
}
