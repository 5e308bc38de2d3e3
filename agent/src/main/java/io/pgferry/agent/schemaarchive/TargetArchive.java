package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.ApiException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** An uploaded archive with the manifest that describes it: what the target's steps restore from. */
public record TargetArchive(ArchiveFiles files, Manifest manifest) {

    /**
     * The stored manifest (its signature was checked when it was stored) and a view of the files whose archive is
     * the verified copy the manifest names, hashed again here: what a restore reads cannot be swapped under it.
     *
     * @throws ApiException 404 {@code archive_not_found} when either is missing or they do not belong together
     */
    public static TargetArchive load(Path stateDir, MigrationId migration) {
        ArchiveFiles files = new ArchiveFiles(stateDir, migration);
        Manifest manifest = files.requireManifest();
        return new TargetArchive(files.pinned(manifest), manifest);
    }

    /** COMMENT entries on the given entries: they are restored with the objects they describe. */
    public static List<TocEntry> withComments(Manifest manifest, List<TocEntry> chosen) {
        Set<Integer> ids = new HashSet<>();
        chosen.forEach(e -> ids.add(e.id()));
        return manifest.entries().stream()
                .filter(e -> ids.contains(e.id()) || (e.commentOn() != null && ids.contains(e.commentOn())))
                .toList();
    }
}
