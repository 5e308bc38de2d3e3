package io.pgferry.agent.largeobjects;

/**
 * What an import did (or, in check mode, would do).
 *
 * @param copied large objects written (created, or replaced when they existed)
 * @param replaced of those, how many existed before
 * @param unlinked large objects removed because the other side no longer has them
 * @param bytes content written
 * @param xid the import's transaction (xid8): this side's own write, left out of the next change scan
 */
public record Imported(String database, long copied, long replaced, long unlinked, long bytes, String xid) {
    public record Response(Imported largeObjects) {
    }
}
