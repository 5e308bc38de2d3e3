package io.pgferry.agent.postgres;

import java.util.List;

/**
 * A failure of the local PostgreSQL, or of a client program run against it, in the database layer's own terms:
 * what went wrong ({@link Kind}), a detail fit for the client (never a secret or the driver's text) and the objects
 * concerned. How it is answered is the HTTP layer's business (http.ProblemMapper).
 */
public class PostgresException extends RuntimeException {
    public enum Kind {
        /** The server could not be reached, refused the login, or did not answer in time. */
        UNAVAILABLE,
        /** The server answered but refused a statement (a missing privilege, a missing object, ...). */
        QUERY_REFUSED,
        /** The server refused a write: the database is read-only (pgferry's fence, or a standby). */
        READ_ONLY,
        /** A client program (pg_dump, pg_restore) ran longer than it was given. */
        TOOL_TIMEOUT,
        /** A client program could not be run at all. */
        TOOL_FAILED,
        /** Sessions of an earlier run of the same job are still on the server; their pids are the objects. */
        TOOL_STILL_RUNNING,
        /** The agent is shutting down: no program starts, a running one is stopped. */
        SHUTTING_DOWN
    }

    private final Kind kind;
    private final List<String> objects;

    PostgresException(Kind kind, String detail, List<String> objects, Throwable cause) {
        super(detail, cause);
        this.kind = kind;
        this.objects = List.copyOf(objects);
    }

    static PostgresException queryRefused(String detail, Throwable cause) {
        return new PostgresException(Kind.QUERY_REFUSED, detail, List.of(), cause);
    }

    static PostgresException readOnly(String detail, Throwable cause) {
        return new PostgresException(Kind.READ_ONLY, detail, List.of(), cause);
    }

    static PostgresException toolTimeout(String detail) {
        return new PostgresException(Kind.TOOL_TIMEOUT, detail, List.of(), null);
    }

    static PostgresException toolFailed(String detail, Throwable cause) {
        return new PostgresException(Kind.TOOL_FAILED, detail, List.of(), cause);
    }

    static PostgresException toolStillRunning(String detail, List<String> sessions) {
        return new PostgresException(Kind.TOOL_STILL_RUNNING, detail, sessions, null);
    }

    public static PostgresException shuttingDown(Throwable cause) {
        return new PostgresException(Kind.SHUTTING_DOWN, "the agent is shutting down", List.of(), cause);
    }

    public Kind kind() {
        return kind;
    }

    public List<String> objects() {
        return objects;
    }
}
