//! The SQL the store speaks, whatever holds the data: a connection,
//! transactions and savepoints, statements, parameters and rows, with the
//! names and shapes of rusqlite's (which the store was first written
//! against), so that placement, the display rule, topic membership and the
//! views are one code for every backend and only this file knows which
//! one runs.
//!
//! Hand-written because no crate does this for a synchronous caller: sqlx's
//! `Any` driver is async and would replace rusqlite under the SQLite store,
//! whose speed the benchmarks hold; diesel would rewrite every query. What
//! is here is a thin dispatch: a statement is still prepared once per
//! connection (`prepare_cached`) and its parameters bound in place.
//!
//! The SQL text is shared: `?N` placeholders, `ON CONFLICT … DO
//! NOTHING/UPDATE`, `RETURNING`, `CAST(… AS BIGINT)`; what SQLite alone
//! understands (pragmas, `VACUUM`, the backup API) stays in the SQLite-only
//! parts of the store (`Connection::lite`).

use std::ops::Deref;

/// An error from the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Lite(#[from] rusqlite::Error),
    /// PostgreSQL's error; with the statement when preparing it failed.
    #[error("{0}")]
    Pg(Box<PgError>),
    /// A query that must return a row returned none.
    #[error("query returned no rows")]
    NoRows,
    /// A poll made under a host lease that another poller holds now
    /// (`store::pg`): not stored.
    #[error("{0}")]
    Fenced(String),
    /// The connection to the server was lost inside a transaction (rolled
    /// back with it).
    #[error("the connection to PostgreSQL was lost in a transaction; it was rolled back")]
    Lost,
    /// Another poller is placing copies: a transaction that would place
    /// alone if no one were gave up (`store::pg::Placing::IfAlone`).
    #[error("another poller is placing copies")]
    Busy,
    /// A value that could not go into or come out of SQL.
    #[error("{0}")]
    Conversion(String),
}

impl Error {
    /// SQLite's error code, when SQLite raised it.
    pub fn sqlite_error_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            Error::Lite(e) => e.sqlite_error_code(),
            _ => None,
        }
    }

    /// A query meant to return one row returned none.
    pub fn is_no_rows(&self) -> bool {
        matches!(
            self,
            Error::NoRows | Error::Lite(rusqlite::Error::QueryReturnedNoRows)
        )
    }
}

/// A PostgreSQL error: the server's message (and its detail and hint)
/// rather than the client's "db error".
#[derive(Debug)]
pub struct PgError {
    pub source: tokio_postgres::Error,
    pub sql: Option<String>,
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.source.as_db_error() {
            Some(db) => {
                write!(f, "{}", db.message())?;
                if let Some(d) = db.detail() {
                    write!(f, " ({d})")?;
                }
                if let Some(h) = db.hint() {
                    write!(f, "; {h}")?;
                }
            }
            None => {
                // The client's own error, and what caused it ("error
                // performing TLS handshake: invalid peer certificate:
                // UnknownIssuer").
                write!(f, "{}", self.source)?;
                let mut cause = std::error::Error::source(&self.source);
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
            }
        }
        if let Some(sql) = &self.sql {
            let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            write!(f, " in: {sql}")?;
        }
        Ok(())
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(source: tokio_postgres::Error) -> Self {
        Error::Pg(Box::new(PgError { source, sql: None }))
    }
}

impl Error {
    fn pg(source: tokio_postgres::Error, sql: &str) -> Error {
        Error::Pg(Box::new(PgError {
            source,
            sql: Some(sql.to_string()),
        }))
    }

    /// PostgreSQL's SQLSTATE, when the server raised it.
    pub fn pg_code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            Error::Pg(e) => e.source.code(),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `query_row(…).optional()`: no row is `None` rather than an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_no_rows() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A value as it goes into SQL.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(i),
            Value::Real(f) => ValueRef::Real(f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// What may be bound to a placeholder.
pub trait ToSql {
    fn value(&self) -> Value<'_>;
}

macro_rules! int_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn value(&self) -> Value<'_> {
                // Counts and sizes far below i64::MAX; saturate rather
                // than wrap should one ever not be.
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_to_sql!(i64, i32, u32, u16, u8, u64, usize);

impl ToSql for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl ToSql for f64 {
    fn value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}

impl ToSql for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToSql for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToSql for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl ToSql for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<const N: usize> ToSql for [u8; N] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl ToSql for std::borrow::Cow<'_, str> {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToSql for std::borrow::Cow<'_, [u8]> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null,
        }
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

impl ToSql for Value<'_> {
    fn value(&self) -> Value<'_> {
        *self
    }
}

/// The parameters of one statement: `params![…]`, an array, or `[]`.
pub trait Params {
    fn each(&self) -> impl Iterator<Item = Value<'_>>;
}

impl Params for &[&dyn ToSql] {
    fn each(&self) -> impl Iterator<Item = Value<'_>> {
        self.iter().map(|p| p.value())
    }
}

impl<T: ToSql, const N: usize> Params for [T; N] {
    fn each(&self) -> impl Iterator<Item = Value<'_>> {
        self.iter().map(|p| p.value())
    }
}

impl<T: ToSql> Params for Vec<T> {
    fn each(&self) -> impl Iterator<Item = Value<'_>> {
        self.iter().map(|p| p.value())
    }
}

/// `params![a, b, …]`: the parameters of one statement, in order.
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::sql::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::sql::ToSql),+] as &[&dyn $crate::store::sql::ToSql]
    };
}
pub(crate) use params;

/// What a column's value may be read as.
pub trait FromSql: Sized {
    fn from_value(v: Value<'_>) -> Result<Self>;
}

fn mismatch(want: &str, got: Value<'_>) -> Error {
    let found = match got {
        Value::Null => "NULL",
        Value::Int(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    };
    Error::Conversion(format!("expected {want}, found {found}"))
}

impl FromSql for i64 {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Int(i) => Ok(i),
            other => Err(mismatch("an integer", other)),
        }
    }
}

macro_rules! int_from_sql {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_value(v: Value<'_>) -> Result<Self> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| Error::Conversion(format!("{i} out of range")))
            }
        }
    )*};
}
int_from_sql!(i32, u32, u64, usize);

impl FromSql for bool {
    fn from_value(v: Value<'_>) -> Result<Self> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromSql for f64 {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Real(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => Err(mismatch("a number", other)),
        }
    }
}

impl FromSql for String {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Text(t) => Ok(t.to_string()),
            other => Err(mismatch("text", other)),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Blob(b) => Ok(b.to_vec()),
            Value::Text(t) => Ok(t.as_bytes().to_vec()),
            other => Err(mismatch("a blob", other)),
        }
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// SQLite's value as ours (text checked to be UTF-8, as rusqlite does).
pub fn lite_value(v: rusqlite::types::ValueRef<'_>) -> Result<Value<'_>> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => {
            Value::Text(std::str::from_utf8(t).map_err(|e| Error::Conversion(e.to_string()))?)
        }
        ValueRef::Blob(b) => Value::Blob(b),
    })
}

/// One row of a result.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r tokio_postgres::Row),
}

/// A column's place in a row (from 0), as in `Row::get(0)`.
pub trait ColumnIndex: Copy {
    fn index(self) -> usize;
}

impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row<'_> {
    /// Column `idx` (from 0) as a `T`.
    pub fn get<I: ColumnIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        T::from_value(self.value(idx.index())?)
    }

    /// Column `idx` as bytes borrowed from the row (no copy); `None` for
    /// NULL.
    pub fn get_blob(&self, idx: usize) -> Result<Option<&[u8]>> {
        match self.value(idx)? {
            Value::Null => Ok(None),
            Value::Blob(b) => Ok(Some(b)),
            other => Err(mismatch("a blob", other)),
        }
    }

    /// Column `idx` as text borrowed from the row (no copy).
    pub fn get_str(&self, idx: usize) -> Result<&str> {
        match self.value(idx)? {
            Value::Text(t) => Ok(t),
            other => Err(mismatch("text", other)),
        }
    }

    fn value(&self, idx: usize) -> Result<Value<'_>> {
        match &self.inner {
            RowInner::Lite(r) => lite_value(r.get_ref(idx)?),
            RowInner::Pg(r) => pg::value(r, idx),
        }
    }
}

/// A connection to the database.
pub struct Connection {
    inner: ConnInner,
}

enum ConnInner {
    Lite(rusqlite::Connection),
    /// Boxed: its client config is large, and the SQLite variant is the
    /// common one.
    Pg(Box<pg::PgConn>),
}

impl From<rusqlite::Connection> for Connection {
    fn from(c: rusqlite::Connection) -> Self {
        Connection {
            inner: ConnInner::Lite(c),
        }
    }
}

/// Which database a connection talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Connection {
    /// A connection to the PostgreSQL server at `url` (a libpq-style URL
    /// or key=value string).
    pub fn connect_postgres(url: &str) -> Result<Connection> {
        Ok(Connection {
            inner: ConnInner::Pg(Box::new(pg::PgConn::connect(url)?)),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match &self.inner {
            ConnInner::Lite(_) => Backend::Sqlite,
            ConnInner::Pg(_) => Backend::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite does (pragmas, the
    /// backup API, `VACUUM`); `None` on another backend.
    pub fn lite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            ConnInner::Lite(c) => Some(c),
            ConnInner::Pg(_) => None,
        }
    }

    /// The PostgreSQL client, for what only PostgreSQL does (advisory
    /// locks, leases); `None` on another backend.
    pub fn pg(&self) -> Option<&pg::PgConn> {
        match &self.inner {
            ConnInner::Pg(c) => Some(c),
            ConnInner::Lite(_) => None,
        }
    }

    /// The database file's path (SQLite), for messages.
    pub fn path(&self) -> Option<&str> {
        self.lite().and_then(|c| c.path())
    }

    /// A statement prepared once per connection and kept.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        match &self.inner {
            ConnInner::Lite(c) => Ok(Statement {
                inner: StmtInner::LiteCached(c.prepare_cached(sql)?),
            }),
            ConnInner::Pg(c) => Ok(Statement {
                inner: StmtInner::Pg(c, c.prepare(sql)?),
            }),
        }
    }

    /// A statement for this call only.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        match &self.inner {
            ConnInner::Lite(c) => Ok(Statement {
                inner: StmtInner::Lite(c.prepare(sql)?),
            }),
            ConnInner::Pg(c) => Ok(Statement {
                inner: StmtInner::Pg(c, c.prepare(sql)?),
            }),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// The first row of one statement through `f`; `Error::NoRows` when
    /// there is none.
    pub fn query_row<T, P: Params, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_row(params, f)
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            ConnInner::Lite(c) => Ok(c.execute_batch(sql)?),
            ConnInner::Pg(c) => c.batch(sql),
        }
    }

    /// Begins a transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): it waits out the busy timeout for another
    /// writer rather than failing when it first writes. On PostgreSQL it
    /// is READ COMMITTED; what must not interleave takes locks
    /// (`store::pg`).
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        let begin = match &self.inner {
            ConnInner::Lite(_) => "BEGIN IMMEDIATE",
            ConnInner::Pg(_) => "BEGIN",
        };
        self.execute_batch(begin)?;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }
}

/// A transaction: rolled back when dropped without `commit`.
pub struct Transaction<'c> {
    conn: &'c Connection,
    done: bool,
}

impl Transaction<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute_batch("COMMIT")
    }

    /// A savepoint inside it: rolled back when dropped without `commit`.
    pub fn savepoint(&mut self) -> Result<Savepoint<'_>> {
        self.conn.execute_batch("SAVEPOINT sp")?;
        Ok(Savepoint {
            conn: self.conn,
            done: false,
        })
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing to do about a failed rollback here: the connection
            // rolls back by itself when it closes.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A savepoint (see `Transaction::savepoint`).
pub struct Savepoint<'t> {
    conn: &'t Connection,
    done: bool,
}

impl Savepoint<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute_batch("RELEASE sp")
    }
}

impl Deref for Savepoint<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK TO sp; RELEASE sp");
        }
    }
}

/// A prepared statement.
pub struct Statement<'c> {
    inner: StmtInner<'c>,
}

enum StmtInner<'c> {
    LiteCached(rusqlite::CachedStatement<'c>),
    Lite(rusqlite::Statement<'c>),
    Pg(&'c pg::PgConn, tokio_postgres::Statement),
}

impl<'c> StmtInner<'c> {
    /// The SQLite statement with `params` bound.
    fn lite_bound<P: Params>(stmt: &mut rusqlite::Statement<'c>, params: P) -> Result<()> {
        let mut n = 0;
        for (i, v) in params.each().enumerate() {
            stmt.raw_bind_parameter(i + 1, v)?;
            n = i + 1;
        }
        if n != stmt.parameter_count() {
            return Err(Error::Lite(rusqlite::Error::InvalidParameterCount(
                n,
                stmt.parameter_count(),
            )));
        }
        Ok(())
    }
}

impl Statement<'_> {
    /// Runs it; the number of rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.inner {
            StmtInner::LiteCached(s) => {
                StmtInner::lite_bound(s, params)?;
                Ok(s.raw_execute()?)
            }
            StmtInner::Lite(s) => {
                StmtInner::lite_bound(s, params)?;
                Ok(s.raw_execute()?)
            }
            StmtInner::Pg(c, s) => c.execute(s, params),
        }
    }

    /// The first row through `f`; `Error::NoRows` when there is none.
    pub fn query_row<T, P: Params, F>(&mut self, params: P, f: F) -> Result<T>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(Error::NoRows),
        }
    }

    /// Every row through `f`, as an iterator.
    pub fn query_map<T, P: Params, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows {
            rows: self.query(params)?,
            f,
        })
    }

    /// The rows, one at a time (`Rows::next`).
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let inner = match &mut self.inner {
            StmtInner::LiteCached(s) => {
                StmtInner::lite_bound(s, params)?;
                RowsInner::Lite(s.raw_query())
            }
            StmtInner::Lite(s) => {
                StmtInner::lite_bound(s, params)?;
                RowsInner::Lite(s.raw_query())
            }
            StmtInner::Pg(c, s) => RowsInner::Pg(c.query(s, params)?.into_iter(), None),
        };
        Ok(Rows { inner })
    }
}

/// The rows of a query.
pub struct Rows<'s> {
    inner: RowsInner<'s>,
}

enum RowsInner<'s> {
    Lite(rusqlite::Rows<'s>),
    /// A PostgreSQL result's rows, received whole, and the one `next`
    /// returned last. (Not streamed: the store runs other statements on
    /// the connection while it reads rows — export reads each story's
    /// copies — and a stream not read would hold the connection's later
    /// answers back.)
    Pg(
        std::vec::IntoIter<tokio_postgres::Row>,
        Option<tokio_postgres::Row>,
    ),
}

impl Rows<'_> {
    /// The next row, `None` after the last.
    #[allow(clippy::should_implement_trait)] // a lending iterator: the row borrows `self`
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.inner {
            RowsInner::Lite(rows) => Ok(rows.next()?.map(|r| Row {
                inner: RowInner::Lite(r),
            })),
            RowsInner::Pg(rows, current) => {
                *current = rows.next();
                Ok(current.as_ref().map(|r| Row {
                    inner: RowInner::Pg(r),
                }))
            }
        }
    }
}

/// `Statement::query_map`'s iterator.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(row)) => Some((self.f)(&row)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The PostgreSQL side: the client, statements prepared once per
/// connection (keyed by their SQL), placeholders translated, and values
/// converted by the column's and parameter's actual types.
pub mod pg {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    use futures::executor::block_on;
    use tokio_postgres::types::{IsNull, Type, to_sql_checked};

    use super::{Error, Params, Result, Value};

    /// The runtime that drives every PostgreSQL connection's socket (one
    /// thread). The store is synchronous and is called from async tasks
    /// as well as from plain threads: a client's calls only pass messages
    /// to its connection task, so they are awaited with `block_on` of the
    /// `futures` crate, which works in either (the sync `postgres` crate's
    /// own `block_on` panics inside a tokio runtime).
    fn runtime() -> Result<&'static tokio::runtime::Runtime> {
        static RT: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();
        RT.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("newsriver-pg")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Conversion(format!("cannot start the PostgreSQL runtime: {e}")))
    }

    /// TLS to the server, when the URL asks for it (`server_config`).
    #[derive(Clone)]
    enum Tls {
        Off,
        On(tokio_postgres_rustls::MakeRustlsConnect),
    }

    /// The client's config for `url` and how it talks to the server.
    ///
    /// tokio-postgres reads libpq's keys but for two that say how to trust
    /// the server, taken out here: `sslmode=verify-ca` / `verify-full`
    /// (read as `require`) and `sslrootcert=FILE`. With `sslmode=require`
    /// (or those) the connection is TLS and the server's certificate is
    /// verified, host name included: against the CA certificates in
    /// `sslrootcert` when given, else against the system's roots (stricter
    /// than libpq's `require`, which encrypts without checking). Otherwise
    /// (`prefer`, the default, or `disable`) no TLS: a Unix socket, or a
    /// server on a trusted network.
    fn server_config(url: &str) -> Result<(tokio_postgres::Config, Tls)> {
        let mut root_file = None;
        let mut kept = Vec::new();
        // `postgres://…?k=v&…`, else libpq's `k=v k=v …`.
        let is_url = url.contains("://");
        let (head, params) = if is_url {
            url.split_once('?').unwrap_or((url, ""))
        } else {
            ("", url)
        };
        let separator = if is_url { '&' } else { ' ' };
        for param in params.split(separator).filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            let value = if is_url {
                percent_decode(value)
            } else {
                value.trim_matches('\'').to_string()
            };
            match (key.trim(), value.as_str()) {
                ("sslrootcert", file) => root_file = Some(file.to_string()),
                ("sslmode", "verify-ca" | "verify-full") => {
                    kept.push("sslmode=require".to_string())
                }
                _ => kept.push(param.to_string()),
            }
        }
        let rebuilt = match (is_url, kept.is_empty()) {
            (true, true) => head.to_string(),
            (true, false) => format!("{head}?{}", kept.join("&")),
            (false, _) => kept.join(" "),
        };
        let config: tokio_postgres::Config = rebuilt.parse()?;
        if config.get_ssl_mode() != tokio_postgres::config::SslMode::Require {
            return Ok((config, Tls::Off));
        }
        let tls = tls_config(root_file.as_deref())
            .map_err(|e| Error::Conversion(format!("TLS to PostgreSQL: {e}")))?;
        Ok((
            config,
            Tls::On(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
        ))
    }

    /// `%XX` escapes of a URL's query value decoded.
    fn percent_decode(value: &str) -> String {
        url::form_urlencoded::parse(format!("v={value}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    /// A TLS client trusting the CA certificates in `root_file` (PEM), or
    /// the system's.
    fn tls_config(root_file: Option<&str>) -> std::result::Result<rustls::ClientConfig, String> {
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let Some(file) = root_file else {
            use rustls_platform_verifier::BuilderVerifierExt;
            return Ok(builder
                .with_platform_verifier()
                .map_err(|e| e.to_string())?
                .with_no_client_auth());
        };
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("sslrootcert {file}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("sslrootcert {file}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("sslrootcert {file}: {e}"))?;
        }
        if roots.is_empty() {
            return Err(format!("sslrootcert {file}: no certificate in it"));
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }

    /// One connection to the server.
    pub struct PgConn {
        config: tokio_postgres::Config,
        tls: Tls,
        client: RefCell<tokio_postgres::Client>,
        statements: RefCell<HashMap<String, tokio_postgres::Statement>>,
        /// Between `BEGIN` and its `COMMIT` or `ROLLBACK`: a connection
        /// lost then is an error (the transaction is gone with it), never
        /// a new connection that would run the rest outside it.
        in_transaction: std::cell::Cell<bool>,
    }

    /// A new client on the shared runtime, its connection task spawned.
    fn open_client(config: &tokio_postgres::Config, tls: &Tls) -> Result<tokio_postgres::Client> {
        let (config, tls) = (config.clone(), tls.clone());
        let rt = runtime()?;
        let connecting = rt.spawn(async move {
            let client = match tls {
                Tls::Off => {
                    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::warn!(error = %e, "PostgreSQL connection closed");
                        }
                    });
                    client
                }
                Tls::On(tls) => {
                    let (client, connection) = config.connect(tls).await?;
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::warn!(error = %e, "PostgreSQL connection closed");
                        }
                    });
                    client
                }
            };
            Ok::<_, tokio_postgres::Error>(client)
        });
        block_on(connecting)
            .map_err(|e| Error::Conversion(format!("PostgreSQL connection task: {e}")))?
            .map_err(Error::from)
    }

    impl PgConn {
        pub(super) fn connect(url: &str) -> Result<PgConn> {
            let (config, tls) = server_config(url)?;
            let client = open_client(&config, &tls)?;
            Ok(PgConn {
                config,
                tls,
                client: RefCell::new(client),
                statements: RefCell::new(HashMap::new()),
                in_transaction: std::cell::Cell::new(false),
            })
        }

        /// A connection the server closed (restarted, or a network cut) is
        /// opened again before the next statement, unless a transaction
        /// was open on it: that transaction fails, and the one after it
        /// runs on a new connection (a daemon goes on polling after the
        /// server comes back; the polls it could not store are fetched
        /// again).
        fn ensure_open(&self) -> Result<()> {
            if !self.client.borrow().is_closed() {
                return Ok(());
            }
            if self.in_transaction.get() {
                return Err(Error::Lost);
            }
            let client = open_client(&self.config, &self.tls)?;
            *self.client.borrow_mut() = client;
            self.statements.borrow_mut().clear();
            tracing::info!("reconnected to PostgreSQL");
            Ok(())
        }

        /// `f` with the client itself (the migrations' runner); await
        /// its futures with `futures::executor::block_on`.
        pub fn with_client<T>(&self, f: impl FnOnce(&mut tokio_postgres::Client) -> T) -> T {
            f(&mut self.client.borrow_mut())
        }

        /// The statement for `sql` (SQLite's placeholders), prepared on
        /// first use.
        pub(super) fn prepare(&self, sql: &str) -> Result<tokio_postgres::Statement> {
            self.ensure_open()?;
            if let Some(s) = self.statements.borrow().get(sql) {
                return Ok(s.clone());
            }
            let translated = translate(sql);
            let stmt = block_on(self.client.borrow().prepare(&translated))
                .map_err(|e| Error::pg(e, &translated))?;
            self.statements
                .borrow_mut()
                .insert(sql.to_string(), stmt.clone());
            Ok(stmt)
        }

        pub(super) fn execute<P: Params>(
            &self,
            stmt: &tokio_postgres::Statement,
            params: P,
        ) -> Result<usize> {
            let n = with_params(params, |refs| {
                block_on(self.client.borrow().execute(stmt, refs))
            })?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        }

        pub(super) fn query<P: Params>(
            &self,
            stmt: &tokio_postgres::Statement,
            params: P,
        ) -> Result<Vec<tokio_postgres::Row>> {
            Ok(with_params(params, |refs| {
                block_on(self.client.borrow().query(stmt, refs))
            })?)
        }

        pub(super) fn batch(&self, sql: &str) -> Result<()> {
            let ends = matches!(sql, "COMMIT" | "ROLLBACK");
            if ends && self.client.borrow().is_closed() {
                // Gone with the connection: nothing left to end.
                self.in_transaction.set(false);
                return Err(Error::Lost);
            }
            self.ensure_open()?;
            let run =
                || block_on(self.client.borrow().batch_execute(sql)).map_err(|e| Error::pg(e, sql));
            let mut result = run();
            if sql == "BEGIN" && result.is_err() && self.client.borrow().is_closed() {
                // The server closed the connection (a restart) and the
                // client learned it only now: nothing was begun, so on a new
                // connection (else this transaction's polls would wait for
                // their next turn).
                self.ensure_open()?;
                result = run();
            }
            match sql {
                "BEGIN" => self.in_transaction.set(result.is_ok()),
                "COMMIT" | "ROLLBACK" => self.in_transaction.set(false),
                _ => {}
            }
            result
        }
    }

    /// What PostgreSQL spells otherwise, as the store's SQL writes it:
    /// SQLite's `group_concat` (default separator `,`) and its `temp`
    /// schema. Everything else the store writes is common SQL (`IS
    /// DISTINCT FROM`, `ON CONFLICT`, `RETURNING`, `CAST`).
    const REWRITES: [(&str, &str); 4] = [
        (
            "group_concat(DISTINCT c.source_id)",
            "string_agg(DISTINCT c.source_id, ',')",
        ),
        ("temp.purge_touched", "pg_temp.purge_touched"),
        ("temp.renamed_source", "pg_temp.renamed_source"),
        ("temp.changed_topics", "pg_temp.changed_topics"),
    ];

    /// `f` with `params` as the client takes them.
    fn with_params<P: Params, T>(
        params: P,
        f: impl FnOnce(&[&(dyn tokio_postgres::types::ToSql + Sync)]) -> T,
    ) -> T {
        let values: Vec<Param<'_>> = params.each().map(Param).collect();
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        f(&refs)
    }

    /// SQLite's placeholders as PostgreSQL's: `?N` → `$N`, a bare `?` →
    /// the next number; quoted text and identifiers are left alone. Then
    /// `REWRITES`.
    pub fn translate(sql: &str) -> String {
        let mut sql = std::borrow::Cow::Borrowed(sql);
        for (from, to) in REWRITES {
            if sql.contains(from) {
                sql = sql.replace(from, to).into();
            }
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut next = 0u32;
        let mut quote: Option<char> = None;
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => {
                    quote = None;
                    out.push(c);
                }
                (Some(_), c) => out.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    out.push(c);
                }
                (None, '?') => {
                    let mut digits = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        chars.next();
                    }
                    out.push('$');
                    if digits.is_empty() {
                        next += 1;
                        out.push_str(&next.to_string());
                    } else {
                        next = next.max(digits.parse().unwrap_or(0));
                        out.push_str(&digits);
                    }
                }
                (None, c) => out.push(c),
            }
        }
        out
    }

    /// A column's value, by its type on the server.
    pub(super) fn value(row: &tokio_postgres::Row, idx: usize) -> Result<Value<'_>> {
        let raw: Raw<'_> = row.try_get(idx)?;
        let Some(bytes) = raw.bytes else {
            return Ok(Value::Null);
        };
        let decode = |e: Box<dyn std::error::Error + Sync + Send>| Error::Conversion(e.to_string());
        use tokio_postgres::types::FromSql as _;
        Ok(match raw.ty {
            Type::INT8 => Value::Int(i64::from_sql(&raw.ty, bytes).map_err(decode)?),
            Type::INT4 => Value::Int(i32::from_sql(&raw.ty, bytes).map_err(decode)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(&raw.ty, bytes).map_err(decode)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(&raw.ty, bytes).map_err(decode)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(&raw.ty, bytes).map_err(decode)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(&raw.ty, bytes).map_err(decode)?.into()),
            Type::BYTEA => Value::Blob(bytes),
            // `sum()` of integers.
            Type::NUMERIC => numeric(bytes)?,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Value::Text(
                std::str::from_utf8(bytes).map_err(|e| Error::Conversion(e.to_string()))?,
            ),
            ty => {
                return Err(Error::Conversion(format!(
                    "column {idx} has type {ty}, which the store does not read (cast it in the query)"
                )));
            }
        })
    }

    /// A NUMERIC in PostgreSQL's binary form (digit count, weight, sign,
    /// scale, then base-10,000 digits): an integer when it has no
    /// fraction and fits, else a real.
    fn numeric(bytes: &[u8]) -> Result<Value<'static>> {
        let word = |i: usize| -> Result<i16> {
            bytes
                .get(2 * i..2 * i + 2)
                .map(|b| i16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| Error::Conversion("a NUMERIC cut short".into()))
        };
        let (ndigits, weight, sign) = (word(0)?, word(1)?, word(2)? as u16);
        if sign == 0xC000 {
            return Ok(Value::Null); // NaN
        }
        let mut value = 0f64;
        let mut int: Option<i64> = Some(0);
        for i in 0..ndigits.max(0) as usize {
            let digit = word(4 + i)?;
            let power = i32::from(weight) - i as i32;
            value += f64::from(digit) * 10_000f64.powi(power);
            int = match (int, power) {
                (Some(n), p) if p >= 0 => 10_000i64
                    .checked_pow(p as u32)
                    .and_then(|m| i64::from(digit).checked_mul(m))
                    .and_then(|d| n.checked_add(d)),
                (Some(n), _) if digit == 0 => Some(n),
                _ => None,
            };
        }
        let negative = sign == 0x4000;
        Ok(match int {
            Some(n) => Value::Int(if negative { -n } else { n }),
            None => Value::Real(if negative { -value } else { value }),
        })
    }

    /// A column as the server sent it.
    struct Raw<'a> {
        ty: Type,
        bytes: Option<&'a [u8]>,
    }

    impl<'a> tokio_postgres::types::FromSql<'a> for Raw<'a> {
        fn from_sql(
            ty: &Type,
            raw: &'a [u8],
        ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw {
                ty: ty.clone(),
                bytes: Some(raw),
            })
        }

        fn from_sql_null(
            ty: &Type,
        ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw {
                ty: ty.clone(),
                bytes: None,
            })
        }

        fn accepts(_: &Type) -> bool {
            true
        }
    }

    /// A parameter, written as the type the server inferred for its
    /// placeholder (an integer bound where the server wants `int4` or
    /// `bool` is converted, as SQLite would take it).
    #[derive(Debug)]
    struct Param<'a>(Value<'a>);

    impl tokio_postgres::types::ToSql for Param<'_> {
        fn to_sql(
            &self,
            ty: &Type,
            out: &mut bytes::BytesMut,
        ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            match self.0 {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(i) => match *ty {
                    Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                    Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                    Type::BOOL => (i != 0).to_sql(ty, out),
                    Type::FLOAT8 => (i as f64).to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                    _ => i.to_sql(ty, out),
                },
                Value::Real(f) => match *ty {
                    Type::FLOAT4 => (f as f32).to_sql(ty, out),
                    _ => f.to_sql(ty, out),
                },
                Value::Text(s) => s.to_sql(ty, out),
                Value::Blob(b) => b.to_sql(ty, out),
            }
        }

        fn accepts(_: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }
}
