package io.pgferry.agent.schemaarchive;

import java.util.List;

/** Answer of {@code POST schema-archive}; {@code queries} holds the pg_dump command (no connection options). */
public record ArchiveResult(boolean changed, List<String> queries, ArchiveInfo archive) {
}
