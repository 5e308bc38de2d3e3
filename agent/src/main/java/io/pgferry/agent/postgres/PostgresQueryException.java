package io.pgferry.agent.postgres;

import io.pgferry.agent.http.ApiException;

/** PostgreSQL was reachable but rejected a query (permissions, a missing function on an odd fork, ...). */
public final class PostgresQueryException extends ApiException {
    public PostgresQueryException(String detail, Throwable cause) {
        super(502, "postgres_error", "PostgreSQL rejected a query", detail, cause);
    }
}
