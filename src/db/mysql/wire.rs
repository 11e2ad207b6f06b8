//! dbarena's own MySQL/MariaDB connection for the workload hot path: handshake and
//! authentication (mysql_native_password, caching_sha2_password's fast path), prepared
//! statements over the binary protocol, and COM_QUERY with text results for everything else.
//!
//! Why not mysql_async here: it decodes every result set's column definitions into shared
//! column objects and allocates per row and per statement, ~5× sysbench's client instructions
//! per point select (docs/PERFORMANCE.md). This path reads a result straight into what the
//! engine keeps (a row count, the first value, or the rows a workload asked for) and, on
//! MariaDB 10.6+, negotiates the metadata cache so the server sends no column definitions
//! with a prepared statement's results at all.

use super::packet::{self, Column, Malformed, Reader, ServerError};
use crate::db::error::DbError;
use crate::db::StmtOutcome;
use crate::value::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod caps {
    pub const LONG_PASSWORD: u64 = 1; // unset by MariaDB servers: "CLIENT_MYSQL"
    pub const FOUND_ROWS: u64 = 1 << 1;
    pub const LONG_FLAG: u64 = 1 << 2;
    pub const CONNECT_WITH_DB: u64 = 1 << 3;
    pub const LOCAL_FILES: u64 = 1 << 7;
    pub const PROTOCOL_41: u64 = 1 << 9;
    pub const TRANSACTIONS: u64 = 1 << 13;
    pub const SECURE_CONNECTION: u64 = 1 << 15;
    pub const MULTI_STATEMENTS: u64 = 1 << 16;
    pub const MULTI_RESULTS: u64 = 1 << 17;
    pub const PS_MULTI_RESULTS: u64 = 1 << 18;
    pub const PLUGIN_AUTH: u64 = 1 << 19;
    pub const PLUGIN_AUTH_LENENC_DATA: u64 = 1 << 21;
    pub const DEPRECATE_EOF: u64 = 1 << 24;
    /// MariaDB's extended capabilities sit in the upper 32 bits.
    pub const MARIADB_CACHE_METADATA: u64 = 1 << (32 + 4);
}

/// What the server said no to, or what went wrong, while connecting.
#[derive(Debug)]
pub enum ConnectFail {
    /// Something this client does not implement (an authentication plugin, a capability):
    /// the caller connects through mysql_async instead.
    Unsupported(String),
    Server(ServerError),
    Io(std::io::Error),
    Malformed(Malformed),
}

impl From<std::io::Error> for ConnectFail {
    fn from(e: std::io::Error) -> Self {
        ConnectFail::Io(e)
    }
}

impl From<Malformed> for ConnectFail {
    fn from(e: Malformed) -> Self {
        ConnectFail::Malformed(e)
    }
}

/// Where to connect and as whom.
pub struct Login<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
    pub database: Option<&'a str>,
}

/// A statement prepared on the server, with what decoding its rows needs.
pub struct Prepared {
    id: u32,
    params: usize,
    cols: Vec<Column>,
}

/// What to keep of a result set's rows.
pub enum Sink<'a> {
    /// The row count only.
    Count,
    /// The row count and the first value of the first row.
    First,
    /// Every row, every value.
    Values(&'a mut Vec<Vec<Value>>),
    /// Every row as text (text protocol only).
    Text(&'a mut Vec<Vec<Option<String>>>),
}

/// How a failed command left the connection.
enum Fail {
    /// The server answered with an error; the connection is in step and usable.
    Server(ServerError),
    /// The stream is gone or out of step.
    Lost(DbError),
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::Lost(DbError::new(
            crate::db::ErrorKind::ConnectionLost,
            "io",
            e.to_string(),
        ))
    }
}

impl From<Malformed> for Fail {
    fn from(e: Malformed) -> Self {
        // A packet that does not parse leaves no way to find the next one.
        Fail::Lost(DbError::new(
            crate::db::ErrorKind::ConnectionLost,
            "protocol",
            e.to_string(),
        ))
    }
}

pub struct Wire {
    stream: TcpStream,
    /// Bytes read from the socket: `rbuf[start..end]` is not consumed yet.
    rbuf: Vec<u8>,
    start: usize,
    end: usize,
    /// The current packet's payload: `rbuf[pkt.0..pkt.1]`, or `joined` for a payload split
    /// over several packets (16 MiB and more).
    pkt: (usize, usize),
    in_joined: bool,
    joined: Vec<u8>,
    /// A command's payload as built, then framed into `out`.
    cmd: Vec<u8>,
    out: Vec<u8>,
    seq: u8,
    caps: u64,
    /// A command started and did not finish (its future was dropped, or the stream failed):
    /// what is on the socket is no longer known.
    broken: bool,
    /// The server's id for this session (KILL takes it).
    pub connection_id: u32,
    /// The server's version string from the handshake.
    pub server_version: String,
}

impl Wire {
    pub async fn connect(login: &Login<'_>) -> Result<Wire, ConnectFail> {
        let stream = TcpStream::connect((login.host, login.port)).await?;
        stream.set_nodelay(true)?;
        let mut w = Wire {
            stream,
            rbuf: vec![0; 64 << 10],
            start: 0,
            end: 0,
            pkt: (0, 0),
            in_joined: false,
            joined: Vec::new(),
            cmd: Vec::with_capacity(256),
            out: Vec::with_capacity(256),
            seq: 0,
            caps: 0,
            broken: true,
            connection_id: 0,
            server_version: String::new(),
        };
        w.handshake(login).await?;
        w.broken = false;
        Ok(w)
    }

    async fn handshake(&mut self, login: &Login<'_>) -> Result<(), ConnectFail> {
        self.read_packet().await.map_err(fail_to_connect)?;
        let p = self.payload();
        if p.first() == Some(&0xFF) {
            return Err(ConnectFail::Server(packet::parse_err(p)?));
        }
        let mut r = Reader::new(p);
        if r.u8()? != 10 {
            return Err(ConnectFail::Unsupported(
                "handshake protocol other than 10".into(),
            ));
        }
        let version = String::from_utf8_lossy(r.nul_bytes()?).into_owned();
        let id = r.u32()?;
        let mut scramble = r.take(8)?.to_vec();
        r.u8()?;
        let mut server = r.u16()? as u64;
        r.u8()?; // character set
        r.u16()?; // status
        server |= (r.u16()? as u64) << 16;
        let data_len = r.u8()? as usize;
        r.take(6)?;
        let ext = r.u32()? as u64;
        if server & caps::LONG_PASSWORD == 0 {
            server |= ext << 32;
        }
        for need in [
            caps::PROTOCOL_41,
            caps::SECURE_CONNECTION,
            caps::PLUGIN_AUTH,
        ] {
            if server & need == 0 {
                return Err(ConnectFail::Unsupported(format!(
                    "the server lacks capability {need:#x}"
                )));
            }
        }
        let part2 = data_len.saturating_sub(8).max(13);
        let rest = r.take(part2.min(r.rest().len()))?;
        scramble.extend_from_slice(rest.strip_suffix(&[0]).unwrap_or(rest));
        // Servers before 5.5.7 may end the packet without the NUL.
        let plugin = String::from_utf8_lossy(r.nul_bytes().unwrap_or(r.rest())).into_owned();

        let mut want = caps::LONG_PASSWORD
            | caps::LONG_FLAG
            | caps::LOCAL_FILES
            | caps::PROTOCOL_41
            | caps::TRANSACTIONS
            | caps::SECURE_CONNECTION
            | caps::MULTI_STATEMENTS
            | caps::MULTI_RESULTS
            | caps::PS_MULTI_RESULTS
            | caps::PLUGIN_AUTH
            | caps::PLUGIN_AUTH_LENENC_DATA
            | caps::DEPRECATE_EOF
            | caps::MARIADB_CACHE_METADATA;
        if login.database.is_some() {
            want |= caps::CONNECT_WITH_DB;
        }
        // mysql_async's default, kept so that affected-row counts mean the same on both paths.
        want &= !caps::FOUND_ROWS;
        self.caps = want & server;
        // A MariaDB server does not set CLIENT_MYSQL; the client keeps it as the server has it.
        self.caps |= caps::LONG_PASSWORD & server;
        self.connection_id = id;
        self.server_version = version;

        let auth = scramble_for(&plugin, login.password, &scramble)?;
        let mut p = std::mem::take(&mut self.cmd);
        p.clear();
        p.extend_from_slice(&(self.caps as u32).to_le_bytes());
        p.extend_from_slice(&(1u32 << 30).to_le_bytes()); // max packet
        p.push(45); // utf8mb4_general_ci
        p.extend_from_slice(&[0; 19]);
        if server & caps::LONG_PASSWORD == 0 {
            p.extend_from_slice(&((self.caps >> 32) as u32).to_le_bytes());
        } else {
            p.extend_from_slice(&[0; 4]);
        }
        p.extend_from_slice(login.user.as_bytes());
        p.push(0);
        if self.caps & caps::PLUGIN_AUTH_LENENC_DATA != 0 {
            packet::put_lenenc_bytes(&mut p, &auth);
        } else {
            p.push(auth.len() as u8);
            p.extend_from_slice(&auth);
        }
        if let Some(db) = login.database {
            p.extend_from_slice(db.as_bytes());
            p.push(0);
        }
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
        let seq = self.seq;
        let sent = self.send(&p, seq).await;
        self.cmd = p;
        sent?;
        self.authenticate(&plugin, login.password).await
    }

    /// Answers the server until it accepts or refuses the login.
    async fn authenticate(&mut self, plugin: &str, password: &str) -> Result<(), ConnectFail> {
        let mut plugin = plugin.to_string();
        loop {
            self.read_packet().await.map_err(fail_to_connect)?;
            let p = self.payload();
            match p.first() {
                Some(0x00) => return Ok(()),
                Some(0xFF) => return Err(ConnectFail::Server(packet::parse_err(p)?)),
                Some(0xFE) => {
                    // Auth switch: another plugin, with a fresh scramble.
                    let mut r = Reader::new(&p[1..]);
                    plugin = String::from_utf8_lossy(r.nul_bytes()?).into_owned();
                    let data = r.rest();
                    let data = data.strip_suffix(&[0]).unwrap_or(data).to_vec();
                    let auth = scramble_for(&plugin, password, &data)?;
                    let seq = self.seq;
                    self.send(&auth, seq).await?;
                }
                Some(0x01) if plugin == "caching_sha2_password" => match p.get(1) {
                    // Fast path: the server had the password hash cached; an OK follows.
                    Some(3) => continue,
                    _ => {
                        return Err(ConnectFail::Unsupported(
                            "caching_sha2_password full authentication (needs TLS or RSA)".into(),
                        ))
                    }
                },
                _ => {
                    return Err(ConnectFail::Unsupported(format!(
                        "authentication exchange of plugin {plugin}"
                    )))
                }
            }
        }
    }

    fn cache_metadata(&self) -> bool {
        self.caps & caps::MARIADB_CACHE_METADATA != 0
    }

    fn deprecate_eof(&self) -> bool {
        self.caps & caps::DEPRECATE_EOF != 0
    }

    /// Starts a command: the connection must be in step, and is taken as out of step until the
    /// command completes (a dropped future leaves it so).
    fn begin(&mut self) -> Result<(), DbError> {
        if self.broken {
            return Err(DbError::new(
                crate::db::ErrorKind::ConnectionLost,
                "driver",
                "the connection was left mid-statement or lost earlier",
            ));
        }
        self.broken = true;
        Ok(())
    }

    /// Ends a command: server errors leave the connection usable, lost ones do not.
    fn finish<T>(&mut self, r: Result<T, Fail>) -> Result<T, DbError> {
        match r {
            Ok(v) => {
                self.broken = false;
                Ok(v)
            }
            Err(Fail::Server(e)) => {
                let e = super::server_error(e.code, &e.state, e.message);
                self.broken = e.kind == crate::db::ErrorKind::ConnectionLost;
                Err(e)
            }
            Err(Fail::Lost(e)) => Err(e),
        }
    }

    pub async fn prepare(&mut self, sql: &str) -> Result<Prepared, DbError> {
        self.begin()?;
        let r = self.prepare_inner(sql).await;
        self.finish(r)
    }

    async fn prepare_inner(&mut self, sql: &str) -> Result<Prepared, Fail> {
        let mut p = std::mem::take(&mut self.cmd);
        p.clear();
        p.push(0x16);
        p.extend_from_slice(sql.as_bytes());
        let sent = self.send(&p, 0).await;
        self.cmd = p;
        sent?;
        self.read_packet().await?;
        let p = self.payload();
        match p.first() {
            Some(0x00) => {}
            Some(0xFF) => return Err(Fail::Server(packet::parse_err(p)?)),
            _ => return Err(Malformed("unexpected answer to COM_STMT_PREPARE").into()),
        }
        let mut r = Reader::new(&p[1..]);
        let id = r.u32()?;
        let ncols = r.u16()? as usize;
        let nparams = r.u16()? as usize;
        for _ in 0..nparams {
            self.read_packet().await?;
        }
        if nparams > 0 && !self.deprecate_eof() {
            self.read_packet().await?;
        }
        let mut cols = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            self.read_packet().await?;
            cols.push(packet::parse_column(self.payload())?);
        }
        if ncols > 0 && !self.deprecate_eof() {
            self.read_packet().await?;
        }
        Ok(Prepared {
            id,
            params: nparams,
            cols,
        })
    }

    /// Frees a statement on the server (COM_STMT_CLOSE has no answer).
    pub async fn close(&mut self, st: Prepared) -> Result<(), DbError> {
        self.begin()?;
        let mut p = std::mem::take(&mut self.cmd);
        p.clear();
        p.push(0x19);
        p.extend_from_slice(&st.id.to_le_bytes());
        let sent = self.send(&p, 0).await.map(|_| ()).map_err(Fail::from);
        self.cmd = p;
        self.finish(sent)
    }

    /// Runs a prepared statement (COM_STMT_EXECUTE) and reads its result into `sink`.
    pub async fn execute(
        &mut self,
        st: &mut Prepared,
        params: &[Value],
        sink: Sink<'_>,
    ) -> Result<StmtOutcome, DbError> {
        if params.len() != st.params {
            return Err(DbError::client(format!(
                "the statement takes {} parameters, {} given",
                st.params,
                params.len()
            )));
        }
        self.begin()?;
        let r = self.execute_inner(st, params, sink).await;
        self.finish(r)
    }

    async fn execute_inner(
        &mut self,
        st: &mut Prepared,
        params: &[Value],
        mut sink: Sink<'_>,
    ) -> Result<StmtOutcome, Fail> {
        let mut p = std::mem::take(&mut self.cmd);
        p.clear();
        packet::put_execute(&mut p, st.id, params);
        let sent = self.send(&p, 0).await;
        self.cmd = p;
        sent?;
        let first = self.result(Some(&mut st.cols), &mut sink, None).await?;
        self.drain(first.1).await?;
        Ok(first.0)
    }

    /// Runs SQL text (COM_QUERY) and reads its first result into `sink`; any further results
    /// (a multi-statement string) are read and dropped. `infile`: the data a LOAD DATA LOCAL
    /// INFILE in `sql` reads.
    pub async fn query(
        &mut self,
        sql: &str,
        sink: Sink<'_>,
        infile: Option<&[u8]>,
    ) -> Result<StmtOutcome, DbError> {
        self.begin()?;
        let r = self.query_inner(sql, sink, infile).await;
        self.finish(r)
    }

    async fn query_inner(
        &mut self,
        sql: &str,
        mut sink: Sink<'_>,
        infile: Option<&[u8]>,
    ) -> Result<StmtOutcome, Fail> {
        let mut p = std::mem::take(&mut self.cmd);
        p.clear();
        p.push(0x03);
        p.extend_from_slice(sql.as_bytes());
        let sent = self.send(&p, 0).await;
        self.cmd = p;
        sent?;
        let first = self.result(None, &mut sink, infile).await?;
        self.drain(first.1).await?;
        Ok(first.0)
    }

    /// Reads and drops the results after the first, while the server says more follow.
    async fn drain(&mut self, mut more: bool) -> Result<(), Fail> {
        while more {
            // Later results of a text query are text; of a CALL, binary rows the same way.
            more = self.result(None, &mut Sink::Count, None).await?.1;
        }
        Ok(())
    }

    /// Reads one result: an OK, an error, a LOCAL INFILE request, or a result set. `binary`:
    /// the statement's columns (binary rows; updated when the server sends new definitions),
    /// None for text rows. Returns the outcome and whether more results follow.
    async fn result(
        &mut self,
        mut binary: Option<&mut Vec<Column>>,
        sink: &mut Sink<'_>,
        infile: Option<&[u8]>,
    ) -> Result<(StmtOutcome, bool), Fail> {
        self.read_packet().await?;
        let mut out = StmtOutcome::default();
        match self.payload().first() {
            Some(0x00) => {
                let ok = packet::parse_ok(self.payload())?;
                out.rows = ok.affected_rows;
                out.last_insert_id = (ok.last_insert_id > 0).then_some(ok.last_insert_id as i64);
                return Ok((out, ok.status & packet::MORE_RESULTS != 0));
            }
            Some(0xFF) => return Err(Fail::Server(packet::parse_err(self.payload())?)),
            Some(0xFB) => {
                // LOCAL INFILE: the file's bytes as packets, then an empty packet (which
                // frame() has already sent after a payload of a multiple of 16 MiB - 1). A
                // request dbarena did not expect gets no data: the server loads nothing.
                let mut seq = self.seq;
                let mut ended = false;
                if let Some(data) = infile.filter(|d| !d.is_empty()) {
                    seq = self.send(data, seq).await?;
                    ended = data.len() % packet::MAX_PAYLOAD == 0;
                }
                if !ended {
                    self.send(&[], seq).await?;
                }
                return Box::pin(self.result(binary, sink, None)).await;
            }
            None => return Err(Malformed("empty packet where a result was expected").into()),
            _ => {}
        }
        let p = self.payload();
        let mut r = Reader::new(p);
        let ncols = usize::try_from(r.lenenc()?).map_err(|_| Malformed("column count"))?;
        let defs_follow = if self.cache_metadata() {
            r.u8()? == 1
        } else {
            true
        };
        if defs_follow {
            match binary.as_deref_mut() {
                Some(cols) => {
                    cols.clear();
                    for _ in 0..ncols {
                        self.read_packet().await?;
                        cols.push(packet::parse_column(self.payload())?);
                    }
                }
                None => {
                    for _ in 0..ncols {
                        self.read_packet().await?;
                    }
                }
            }
            if !self.deprecate_eof() {
                self.read_packet().await?;
            }
        } else if binary.as_deref().is_some_and(|c| c.len() != ncols) {
            return Err(Malformed("cached metadata does not match the result's columns").into());
        }
        let mut row = Vec::new();
        let mut text = Vec::new();
        loop {
            self.read_packet().await?;
            let p = self.payload();
            if packet::is_end(p) {
                let status = if self.deprecate_eof() {
                    packet::parse_ok(p)?.status
                } else {
                    packet::parse_eof_status(p)?
                };
                return Ok((out, status & packet::MORE_RESULTS != 0));
            }
            if p.first() == Some(&0xFF) {
                return Err(Fail::Server(packet::parse_err(p)?));
            }
            match (&binary, &mut *sink) {
                (_, Sink::Count) => {}
                (Some(cols), Sink::First) if out.rows == 0 => {
                    packet::decode_binary_row(p, cols, true, &mut row)?;
                    out.first = row.pop();
                }
                (None, Sink::First) if out.rows == 0 => {
                    packet::decode_text_row(p, &mut text)?;
                    out.first = text
                        .drain(..)
                        .next()
                        .map(|v| v.map_or(Value::Null, Value::Text));
                }
                (_, Sink::First) => {}
                (Some(cols), Sink::Values(rows)) => {
                    let mut v = Vec::with_capacity(cols.len());
                    packet::decode_binary_row(p, cols, false, &mut v)?;
                    rows.push(v);
                }
                (None, Sink::Values(rows)) => {
                    packet::decode_text_row(p, &mut text)?;
                    rows.push(
                        text.drain(..)
                            .map(|v| v.map_or(Value::Null, Value::Text))
                            .collect(),
                    );
                }
                (None, Sink::Text(rows)) => {
                    let mut v = Vec::with_capacity(ncols);
                    packet::decode_text_row(p, &mut v)?;
                    rows.push(v);
                }
                (Some(_), Sink::Text(_)) => {
                    return Err(Malformed("text rows asked of a binary result").into())
                }
            }
            out.rows += 1;
        }
    }

    /// Frames `payload` from sequence number `seq` and writes it; returns the next number.
    async fn send(&mut self, payload: &[u8], seq: u8) -> std::io::Result<u8> {
        self.out.clear();
        let next = packet::frame(&mut self.out, payload, seq);
        // A statement almost always fits the socket's buffer: one non-blocking write, and the
        // write future only for what it did not take.
        let took = match self.stream.try_write(&self.out) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        if took < self.out.len() {
            self.stream.write_all(&self.out[took..]).await?;
        }
        self.seq = next;
        Ok(next)
    }

    fn payload(&self) -> &[u8] {
        if self.in_joined {
            &self.joined
        } else {
            &self.rbuf[self.pkt.0..self.pkt.1]
        }
    }

    /// Reads the next packet (all its parts, for a payload of 16 MiB or more).
    async fn read_packet(&mut self) -> Result<(), Fail> {
        if self.buffered_packet() {
            return Ok(());
        }
        self.in_joined = false;
        loop {
            self.fill(4).await?;
            let (len, seq) = self.next_header();
            self.fill(4 + len).await?;
            self.seq = seq.wrapping_add(1);
            let body = (self.start + 4, self.start + 4 + len);
            self.start = body.1;
            if len < packet::MAX_PAYLOAD && !self.in_joined {
                self.pkt = body;
                return Ok(());
            }
            if !self.in_joined {
                self.joined.clear();
                self.in_joined = true;
            }
            self.joined.extend_from_slice(&self.rbuf[body.0..body.1]);
            if len < packet::MAX_PAYLOAD {
                return Ok(());
            }
        }
    }

    /// Takes the next packet when it is whole in the buffer already, as a result's packets
    /// after the first usually are (they come in one read): no read future, no awaits.
    fn buffered_packet(&mut self) -> bool {
        let avail = self.end - self.start;
        if avail < 4 {
            return false;
        }
        let (len, seq) = self.next_header();
        if len >= packet::MAX_PAYLOAD || avail < 4 + len {
            return false;
        }
        self.in_joined = false;
        self.seq = seq.wrapping_add(1);
        self.pkt = (self.start + 4, self.start + 4 + len);
        self.start += 4 + len;
        true
    }

    /// The length and sequence number in the header at `rbuf[start..]` (4 bytes must be there).
    fn next_header(&self) -> (usize, u8) {
        let h = &self.rbuf[self.start..self.start + 4];
        packet::header([h[0], h[1], h[2], h[3]])
    }

    /// Makes at least `n` unread bytes available in `rbuf[start..]`.
    async fn fill(&mut self, n: usize) -> Result<(), Fail> {
        while self.end - self.start < n {
            if self.rbuf.len() - self.start < n {
                // Move the unread bytes to the front, growing the buffer if one packet needs it.
                self.rbuf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if self.rbuf.len() < n {
                    self.rbuf.resize(n.next_power_of_two(), 0);
                }
            } else if self.start == self.end {
                self.start = 0;
                self.end = 0;
            }
            let got = self.stream.read(&mut self.rbuf[self.end..]).await?;
            if got == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )
                .into());
            }
            self.end += got;
        }
        Ok(())
    }
}

impl Drop for Wire {
    /// Says goodbye (COM_QUIT) when the socket takes it without waiting: a server counts a
    /// session closed without one as aborted and may log a warning for each.
    fn drop(&mut self) {
        if !self.broken {
            let _ = self.stream.try_write(&[1, 0, 0, 0, 0x01]);
        }
    }
}

fn fail_to_connect(f: Fail) -> ConnectFail {
    match f {
        Fail::Server(e) => ConnectFail::Server(e),
        Fail::Lost(e) => ConnectFail::Io(std::io::Error::other(e.message)),
    }
}

/// The authentication response of `plugin` for `password` and the server's scramble.
fn scramble_for(plugin: &str, password: &str, scramble: &[u8]) -> Result<Vec<u8>, ConnectFail> {
    if password.is_empty() && matches!(plugin, "mysql_native_password" | "caching_sha2_password") {
        return Ok(Vec::new());
    }
    match plugin {
        "mysql_native_password" => Ok(native_password(password.as_bytes(), scramble).to_vec()),
        "caching_sha2_password" => Ok(caching_sha2(password.as_bytes(), scramble).to_vec()),
        other => Err(ConnectFail::Unsupported(format!(
            "authentication plugin {other}"
        ))),
    }
}

/// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
fn native_password(password: &[u8], scramble: &[u8]) -> [u8; 20] {
    let h1: [u8; 20] = Sha1::digest(password).into();
    let h2: [u8; 20] = Sha1::digest(h1).into();
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(h2);
    let h3: [u8; 20] = h.finalize().into();
    std::array::from_fn(|i| h1[i] ^ h3[i])
}

/// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble).
fn caching_sha2(password: &[u8], scramble: &[u8]) -> [u8; 32] {
    let h1: [u8; 32] = Sha256::digest(password).into();
    let h2: [u8; 32] = Sha256::digest(h1).into();
    let mut h = Sha256::new();
    h.update(h2);
    h.update(scramble);
    let h3: [u8; 32] = h.finalize().into();
    std::array::from_fn(|i| h1[i] ^ h3[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted server: a MariaDB-style handshake, then for each query a result of one text
    /// row whose only value is `len` bytes long (past 16 MiB: split over packets).
    async fn fake_server(len: usize) -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut hs = vec![10];
            hs.extend_from_slice(b"10.11.0-MariaDB\0");
            hs.extend_from_slice(&7u32.to_le_bytes());
            hs.extend_from_slice(b"abcdefgh\0");
            let c = caps::PROTOCOL_41
                | caps::SECURE_CONNECTION
                | caps::PLUGIN_AUTH
                | caps::PLUGIN_AUTH_LENENC_DATA
                | caps::DEPRECATE_EOF
                | caps::CONNECT_WITH_DB;
            hs.extend_from_slice(&(c as u16).to_le_bytes());
            hs.push(45);
            hs.extend_from_slice(&2u16.to_le_bytes());
            hs.extend_from_slice(&((c >> 16) as u16).to_le_bytes());
            hs.push(21);
            hs.extend_from_slice(&[0; 6]);
            hs.extend_from_slice(&((caps::MARIADB_CACHE_METADATA >> 32) as u32).to_le_bytes());
            hs.extend_from_slice(b"ijklmnopqrst\0");
            hs.extend_from_slice(b"mysql_native_password\0");
            let mut out = Vec::new();
            packet::frame(&mut out, &hs, 0);
            s.write_all(&out).await.unwrap();
            let mut got = vec![0u8; 4096];
            let n = s.read(&mut got).await.unwrap();
            got.truncate(n);
            out.clear();
            packet::frame(&mut out, &[0, 0, 0, 2, 0, 0, 0], 2);
            s.write_all(&out).await.unwrap();
            // The query, then: column count (with its metadata flag), one definition, the
            // row, the end.
            let mut q = vec![0u8; 4096];
            let _ = s.read(&mut q).await.unwrap();
            out.clear();
            let mut seq = packet::frame(&mut out, &[1, 1], 1);
            let mut def = Vec::new();
            for n in ["def", "", "", "", "v", ""] {
                packet::put_lenenc_bytes(&mut def, n.as_bytes());
            }
            def.push(0x0C);
            def.extend_from_slice(&[45, 0, 0, 0, 0, 0, packet::ty::VAR_STRING, 0, 0, 0, 0, 0]);
            seq = packet::frame(&mut out, &def, seq);
            let mut row = Vec::new();
            packet::put_lenenc_bytes(&mut row, &vec![b'x'; len]);
            seq = packet::frame(&mut out, &row, seq);
            packet::frame(&mut out, &[0xFE, 0, 0, 2, 0, 0, 0], seq);
            s.write_all(&out).await.unwrap();
            got
        });
        (port, task)
    }

    #[tokio::test]
    async fn handshake_and_a_row_split_over_packets() {
        let len = packet::MAX_PAYLOAD + 100;
        let (port, server) = fake_server(len).await;
        let login = Login {
            host: "127.0.0.1",
            port,
            user: "u",
            password: "pw",
            database: Some("db"),
        };
        let mut w = Wire::connect(&login).await.unwrap();
        assert_eq!(
            (w.connection_id, w.server_version.as_str()),
            (7, "10.11.0-MariaDB")
        );
        assert!(w.cache_metadata());
        let mut rows = Vec::new();
        let out = w
            .query("SELECT v", Sink::Text(&mut rows), None)
            .await
            .unwrap();
        assert_eq!(out.rows, 1);
        assert_eq!(rows[0][0].as_ref().map(String::len), Some(len));
        // The login: user, the 20-byte native scramble of "pw", the database, the plugin.
        let got = server.await.unwrap();
        let mut r = Reader::new(&got[4..]);
        let flags = r.u32().unwrap() as u64;
        assert!(flags & caps::CONNECT_WITH_DB != 0 && flags & caps::FOUND_ROWS == 0);
        r.take(4 + 1 + 19).unwrap();
        assert_eq!(r.u32().unwrap() as u64, caps::MARIADB_CACHE_METADATA >> 32);
        assert_eq!(r.nul_bytes().unwrap(), b"u");
        let auth = r.lenenc_bytes().unwrap();
        assert_eq!(auth, native_password(b"pw", b"abcdefghijklmnopqrst"));
        assert_eq!(r.nul_bytes().unwrap(), b"db");
        assert_eq!(r.nul_bytes().unwrap(), b"mysql_native_password");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn native_password_scramble() {
        // Checked against the formula by hand: with a zero scramble the response XORs
        // SHA1(pw) with SHA1(0^20 + SHA1(SHA1(pw))); an empty password sends nothing.
        let s = [0u8; 20];
        let r = native_password(b"secret", &s);
        let h1: [u8; 20] = Sha1::digest(b"secret").into();
        let h2: [u8; 20] = Sha1::digest(h1).into();
        let mut h = Sha1::new();
        h.update(s);
        h.update(h2);
        let h3: [u8; 20] = h.finalize().into();
        let back: Vec<u8> = r.iter().zip(h3).map(|(a, b)| a ^ b).collect();
        assert_eq!(hex(&back), hex(&h1));
        assert!(scramble_for("mysql_native_password", "", &s)
            .unwrap()
            .is_empty());
        assert!(matches!(
            scramble_for("client_ed25519", "x", &s),
            Err(ConnectFail::Unsupported(_))
        ));
    }

    #[test]
    fn caching_sha2_scramble_inverts() {
        let s = b"abcdefghijklmnopqrst";
        let r = caching_sha2(b"pw", s);
        let h1: [u8; 32] = Sha256::digest(b"pw").into();
        let h2: [u8; 32] = Sha256::digest(h1).into();
        let mut h = Sha256::new();
        h.update(h2);
        h.update(s);
        let h3: [u8; 32] = h.finalize().into();
        let back: Vec<u8> = r.iter().zip(h3).map(|(a, b)| a ^ b).collect();
        assert_eq!(back, h1);
    }
}
