package io.pgferry.agent.postgres;

import io.pgferry.agent.http.ApiException;

/** The local PostgreSQL could not be reached or did not answer in time. */
public final class PostgresUnavailableException extends ApiException {
    public PostgresUnavailableException(String detail, Throwable cause) {
        super(503, "postgres_unavailable", "PostgreSQL unavailable", detail, cause);
    }
}
