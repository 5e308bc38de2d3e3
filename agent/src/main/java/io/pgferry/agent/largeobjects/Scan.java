package io.pgferry.agent.largeobjects;

import java.util.List;
import java.util.Map;

/**
 * What {@code GET large-objects} answers: this side's large objects, read in one snapshot.
 *
 * @param oids every large object
 * @param mark this side's mark from its last complete sync; null when it has none that can be trusted (no sync
 *             completed, the state file is gone, or pg_largeobject is not readable to the agent's role)
 * @param changed the objects with content, owner or ACL written since {@code mark} (not by this side's own import);
 *                null without a mark: then only {@code digests} tell
 * @param nextMark this read's snapshot xmin: the mark to store once the sync it is part of is complete
 * @param comments md5 of each comment, by oid
 * @param digests md5 of each object's owner, ACL, comment and content, by oid; when asked for, or without a mark
 * @param detection {@code xmin} (changes found from the rows' transaction ids) or {@code digests} (contents compared)
 */
public record Scan(String database, long objects, List<Long> oids, Mark mark, List<Long> changed, String nextMark,
                   Map<String, String> comments, Map<String, String> digests, String detection) {
}
