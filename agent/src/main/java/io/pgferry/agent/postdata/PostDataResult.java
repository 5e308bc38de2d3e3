package io.pgferry.agent.postdata;

import java.util.List;
import java.util.Map;

/**
 * Result of post-data (the job's {@code result}, or the answer in check mode).
 *
 * @param restored entries restored (or, with check, to restore) by pg_restore desc, e.g. {@code {"INDEX": 3}}
 * @param present post-data objects that were already on the target
 * @param refreshed materialized views refreshed (populated on the source, empty on the target)
 * @param notRefreshed materialized views left empty, each with why and what to do
 * @param unresolved entries whose object the manifest could not identify, left alone
 * @param analyzed tables analyzed (or, with check, to analyze): they had no statistics on the target
 */
public record PostDataResult(boolean changed, boolean check, List<String> queries, List<String> actions,
                             Map<String, Integer> restored, int present, List<String> refreshed,
                             List<String> notRefreshed, int unresolved, List<String> analyzed) {
}
