package io.pgferry.agent.postgres;

/** No usable pg_bin_dir; the message says what was tried and how to fix it. */
public final class PgToolsException extends Exception {
    public PgToolsException(String message) {
        super(message);
    }
}
