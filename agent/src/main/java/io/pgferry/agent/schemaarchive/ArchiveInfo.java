package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.migration.TableRef;
import java.util.List;

/** The stored archive as a step's answer describes it. */
public record ArchiveInfo(String sha256, long sizeBytes, int entries, String pgDumpVersion, List<TableRef> tables) {
    static ArchiveInfo of(Manifest m) {
        return new ArchiveInfo(m.archiveSha256(), m.archiveSizeBytes(), m.entries().size(), m.pgDumpVersion(),
                m.tables());
    }
}
