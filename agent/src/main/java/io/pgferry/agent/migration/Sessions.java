package io.pgferry.agent.migration;

import io.pgferry.agent.postgres.PgConnector;
import java.sql.Connection;
import java.time.Duration;

/**
 * Connections of the cutover steps. A fenced database ({@code ALTER DATABASE .. SET default_transaction_read_only =
 * on}) makes every new session read-only, the agent's own included: the steps that must still write there (unfence,
 * the reverse subscription, cleanup) turn it off for their session only.
 */
public final class Sessions {
    private Sessions() {
    }

    /** A read-write session on the database, fenced or not; 404 {@code database_not_found} when it is missing. */
    public static Connection writable(PgConnector connector, String database, Duration timeout) {
        return Steps.openSettingReadOnly(connector, database, timeout, false);
    }
}
