//! Opens real database connections for the engine, with the run's session settings.

use crate::db::{Connection, DbUrl, Isolation, Protocol};

/// The engine's connector for a database URL.
pub struct DbConnector {
    pub url: DbUrl,
    pub isolation: Option<Isolation>,
    pub protocol: Protocol,
}

impl crate::engine::Connector for DbConnector {
    type Conn = Connection;

    async fn connect(&self) -> Result<Connection, crate::Error> {
        let mut c = Connection::connect(&self.url).await?;
        // Before anything is prepared: simple and extended send SQL text at each run.
        c.set_protocol(self.protocol);
        if let Some(level) = self.isolation {
            c.set_isolation(level)
                .await
                .map_err(|e| crate::Error::db("setting the isolation level", e))?;
        }
        Ok(c)
    }

    fn share(&self, conn: &Connection) -> Option<Connection> {
        conn.share()
    }

    fn blocking(&self) -> bool {
        self.url.blocking()
    }
}
