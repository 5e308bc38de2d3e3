package io.pgferry.agent.postgres;

import java.util.List;

/** The local PostgreSQL could not be reached or did not answer in time. */
public final class PostgresUnavailableException extends PostgresException {
    public PostgresUnavailableException(String detail, Throwable cause) {
        super(Kind.UNAVAILABLE, detail, List.of(), cause);
    }
}
