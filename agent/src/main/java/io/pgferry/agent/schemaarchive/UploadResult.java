package io.pgferry.agent.schemaarchive;

/**
 * Answer of the two uploads.
 *
 * @param changed false when the agent already had exactly this archive or manifest
 * @param entries for a manifest: its number of TOC entries
 */
public record UploadResult(boolean changed, String sha256, long sizeBytes, Integer entries) {
}
