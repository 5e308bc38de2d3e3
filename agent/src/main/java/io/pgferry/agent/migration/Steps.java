package io.pgferry.agent.migration;

import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * What every migration step does the same way: open its database connections. The handlers' shared path and query
 * parameters are http.Params'.
 */
public final class Steps {
    private Steps() {
    }

    /**
     * A connection to a database of the local server; 404 {@code database_not_found} when it does not exist, so
     * a typo in the database name is not reported as PostgreSQL being down.
     */
    public static Connection open(PgConnector connector, String database, Duration timeout, boolean readOnly) {
        return open(connector, database, timeout, readOnly, false);
    }

    /**
     * As {@link #open(PgConnector, String, Duration, boolean)}, with the session's read-only default set to match
     * {@code readOnly} whatever the database's is ({@link PgConnector#openSettingReadOnly}): for the steps that read
     * or write a fenced database as they mean to.
     */
    public static Connection openSettingReadOnly(PgConnector connector, String database, Duration timeout,
                                                 boolean readOnly) {
        return open(connector, database, timeout, readOnly, true);
    }

    private static Connection open(PgConnector connector, String database, Duration timeout, boolean readOnly,
                                   boolean settingReadOnly) {
        try {
            return settingReadOnly ? connector.openSettingReadOnly(database, timeout, readOnly)
                    : connector.open(database, timeout, readOnly);
        } catch (PostgresUnavailableException e) {
            if (e.getCause() instanceof SQLException s && "3D000".equals(s.getSQLState())) {
                throw ApiException.notFound("database_not_found", "database " + database
                        + " does not exist on this server; check the name (it is case-sensitive)");
            }
            throw e;
        }
    }
}
