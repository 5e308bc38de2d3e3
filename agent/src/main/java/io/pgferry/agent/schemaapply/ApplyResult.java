package io.pgferry.agent.schemaapply;

import java.util.List;

/**
 * Result of schema apply (the job's {@code result}, or the answer in check mode).
 *
 * @param actions the entries restored (or, with check, to restore), e.g. {@code 226 TABLE "s"."t"}
 * @param preData {@code applied} (restored now) or {@code present} (every table was there already)
 */
public record ApplyResult(boolean changed, boolean check, List<String> queries, List<String> actions,
                          String preData, KeyCounts primaryKeys) {

    /** Primary keys, replica-identity indexes and the attachments of partitions' key indexes. */
    public record KeyCounts(int applied, int present) {
    }
}
