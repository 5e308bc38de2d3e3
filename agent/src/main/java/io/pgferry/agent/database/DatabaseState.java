package io.pgferry.agent.database;

/** The database as the step leaves it (or, in check mode, would leave it). */
public record DatabaseState(String name, boolean exists, String owner, String encoding, String lcCollate,
                            String lcCtype) {
    /** The step's answer names it {@code database}. */
    public record Response(DatabaseState database) {
    }
}
