//! A real SMTP server for tests: plain TCP on 127.0.0.1, enough ESMTP for lettre's async client
//! (several messages per connection, since lettre pools them), and every accepted message kept
//! and parsed so tests can read subject and decoded bodies.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mail_parser::{MessageParser, PartType};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Advertised and enforced, so an oversized message fails loudly instead of hanging.
const MAX_MESSAGE_BYTES: usize = 10 << 20;

#[derive(Clone)]
#[allow(dead_code)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as transmitted, after dot-unstuffing.
    pub raw: String,
    pub subject: String,
    /// The decoded text/plain body, if the message has one.
    pub text: Option<String>,
    /// The decoded text/html body, if the message has one.
    pub html: Option<String>,
}

impl fmt::Debug for ReceivedMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The raw message drowns everything else in a failing assertion.
        f.debug_struct("ReceivedMail")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &self.text)
            .field("html", &self.html)
            .finish_non_exhaustive()
    }
}

struct Inner {
    messages: Mutex<Vec<ReceivedMail>>,
    /// The number of messages received, for `wait_for` to wait on.
    count: watch::Sender<usize>,
    reject: AtomicUsize,
    /// Recipients refused for good (550), as a mail server refuses an unknown mailbox.
    refused: Mutex<Vec<String>>,
    /// While true, a message is taken and kept but its final answer is held back (as when
    /// the sender dies between handing a message over and hearing back).
    hold: watch::Sender<bool>,
}

impl Inner {
    fn store(&self, mail: ReceivedMail) {
        let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        messages.push(mail);
        self.count.send_replace(messages.len());
    }

    /// Consumes one pending rejection, if any.
    fn take_rejection(&self) -> bool {
        let update = |n: usize| n.checked_sub(1);
        self.reject.fetch_update(Ordering::SeqCst, Ordering::SeqCst, update).is_ok()
    }
}

/// Handle to a running sink; clones share the same server and mailbox.
#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    inner: Arc<Inner>,
}

#[allow(dead_code)]
impl SmtpSink {
    /// Listens on 127.0.0.1 with a free port until the test's runtime shuts down.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let port = listener.local_addr().expect("SMTP sink address").port();
        let inner = Arc::new(Inner {
            messages: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
            reject: AtomicUsize::new(0),
            refused: Mutex::new(Vec::new()),
            hold: watch::Sender::new(false),
        });
        tokio::spawn(accept_loop(listener, inner.clone()));
        Self { port, inner }
    }

    /// For `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.inner.messages.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The messages after the first `skip`: a reader that keeps its place copies only what
    /// is new, which matters when thousands have arrived.
    pub fn messages_after(&self, skip: usize) -> Vec<ReceivedMail> {
        let messages = self.inner.messages.lock().unwrap_or_else(PoisonError::into_inner);
        messages.iter().skip(skip).cloned().collect()
    }

    /// Waits until at least `n` messages have arrived and returns all of them; panics after
    /// `timeout` listing what did arrive.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let mut count = self.inner.count.subscribe();
        let arrived = tokio::time::timeout(timeout, count.wait_for(|c| *c >= n)).await;
        if arrived.is_err() {
            let got = self.messages();
            let summary: Vec<String> = got.iter().map(|m| format!("  to {:?}: {:?}", m.to, m.subject)).collect();
            panic!(
                "SMTP sink: expected at least {n} message(s) within {timeout:?}, got {}:\n{}",
                got.len(),
                summary.join("\n")
            );
        }
        self.messages()
    }

    /// RCPT TO this address answers `550 5.1.1 No such user` from now on.
    pub fn refuse_recipient(&self, address: &str) {
        self.inner.refused.lock().unwrap_or_else(PoisonError::into_inner).push(address.to_lowercase());
    }

    /// From now on messages are kept but not answered, until [`Self::release_answers`].
    pub fn hold_answers(&self) {
        self.inner.hold.send_replace(true);
    }

    pub fn release_answers(&self) {
        self.inner.hold.send_replace(false);
    }

    /// The next `n` DATA commands answer `451 4.3.0 Temporary failure`.
    pub fn reject_next(&self, n: usize) {
        self.inner.reject.fetch_add(n, Ordering::SeqCst);
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    while let Ok((stream, _)) = listener.accept().await {
        let inner = inner.clone();
        // A client hanging up mid-session is its own business.
        tokio::spawn(async move { serve_session(stream, &inner).await.ok() });
    }
}

#[derive(Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

async fn serve_session(stream: TcpStream, inner: &Inner) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut envelope = Envelope::default();
    write.write_all(b"220 127.0.0.1 ESMTP fake sink ready\r\n").await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line);
        let command = command.trim_end();
        let (verb, arg) = command.split_once(' ').unwrap_or((command, ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => format!(
                "250-127.0.0.1 greets {arg}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE {MAX_MESSAGE_BYTES}\r\n"
            ),
            "HELO" => format!("250 127.0.0.1 greets {arg}\r\n"),
            "MAIL" => mail_from(&mut envelope, arg),
            "RCPT" => rcpt_to(&mut envelope, arg, inner),
            "DATA" => data(&mut reader, &mut write, &mut envelope, inner).await?,
            "RSET" => {
                envelope = Envelope::default();
                "250 2.0.0 Ok\r\n".to_owned()
            }
            "NOOP" => "250 2.0.0 Ok\r\n".to_owned(),
            "VRFY" => "252 2.5.0 Cannot verify, will accept\r\n".to_owned(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not recognized\r\n".to_owned(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// The address between the angle brackets of `FROM:<a@b> PARAMS` / `TO:<a@b>`.
fn path_arg<'a>(arg: &'a str, prefix: &str) -> Option<&'a str> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    Some(&inner[..inner.find('>')?])
}

fn mail_from(envelope: &mut Envelope, arg: &str) -> String {
    match path_arg(arg, "FROM:") {
        Some(from) => {
            *envelope = Envelope { from: Some(from.to_owned()), to: Vec::new() };
            "250 2.1.0 Ok\r\n".to_owned()
        }
        None => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n".to_owned(),
    }
}

fn rcpt_to(envelope: &mut Envelope, arg: &str, inner: &Inner) -> String {
    if envelope.from.is_none() {
        return "503 5.5.1 MAIL first\r\n".to_owned();
    }
    let refused = inner.refused.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match path_arg(arg, "TO:") {
        Some(to) if refused.contains(&to.to_lowercase()) => "550 5.1.1 No such user\r\n".to_owned(),
        Some(to) if !to.is_empty() => {
            envelope.to.push(to.to_owned());
            "250 2.1.5 Ok\r\n".to_owned()
        }
        _ => "501 5.5.4 Syntax: RCPT TO:<address>\r\n".to_owned(),
    }
}

/// Handles DATA up to and including the final reply's text, which it returns.
async fn data<R, W>(reader: &mut R, write: &mut W, envelope: &mut Envelope, inner: &Inner) -> std::io::Result<String>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    if envelope.from.is_none() || envelope.to.is_empty() {
        return Ok("503 5.5.1 RCPT first\r\n".to_owned());
    }
    if inner.take_rejection() {
        return Ok("451 4.3.0 Temporary failure\r\n".to_owned());
    }
    write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
    let Some(body) = read_data(reader).await? else {
        *envelope = Envelope::default();
        return Ok("552 5.3.4 Message too big\r\n".to_owned());
    };
    let done = std::mem::take(envelope);
    inner.store(parse_mail(done.from.unwrap_or_default(), done.to, &body));
    let _ = inner.hold.subscribe().wait_for(|held| !held).await;
    Ok("250 2.0.0 Ok: queued\r\n".to_owned())
}

/// Reads the message up to the lone `.` line, undoing dot-stuffing; `None` if it is too big
/// (the rest is still read, so the session stays in step).
async fn read_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        if body.len() <= MAX_MESSAGE_BYTES {
            body.extend_from_slice(unstuffed);
        }
    }
    Ok((body.len() <= MAX_MESSAGE_BYTES).then_some(body))
}

fn parse_mail(from: String, to: Vec<String>, body: &[u8]) -> ReceivedMail {
    let raw = String::from_utf8_lossy(body).into_owned();
    let Some(message) = MessageParser::default().parse(body) else {
        return ReceivedMail { from, to, raw, subject: String::new(), text: None, html: None };
    };
    // mail-parser converts between text and HTML when a part is missing; keep only real parts.
    let text = message.text_bodies().find_map(|part| match &part.body {
        PartType::Text(text) => Some(text.to_string()),
        _ => None,
    });
    let html = message.html_bodies().find_map(|part| match &part.body {
        PartType::Html(html) => Some(html.to_string()),
        _ => None,
    });
    ReceivedMail { subject: message.subject().unwrap_or_default().to_owned(), from, to, raw, text, html }
}
