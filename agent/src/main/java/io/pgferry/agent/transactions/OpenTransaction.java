package io.pgferry.agent.transactions;

/**
 * One client transaction open on the database.
 *
 * @param pid the backend's process id (what {@code pg_terminate_backend} takes, and what PgBouncer's
 *            {@code SHOW SERVERS} calls {@code remote_pid})
 * @param client {@code address:port} of the client as PostgreSQL sees it (PgBouncer's, for a pooled session),
 *               {@code local} for a Unix socket
 * @param state {@code active}, {@code idle in transaction}, {@code idle in transaction (aborted)}, ...
 * @param seconds how long the transaction has been open
 */
public record OpenTransaction(int pid, String user, String application, String client, String state,
                              double seconds) {
}
