package io.pgferry.agent.postgres;

/**
 * @param version e.g. "16.4" or "18.3 (Debian 18.3-1)"
 * @param versionNum e.g. 160004
 */
public record ServerVersion(String version, int versionNum) {

    public int major() {
        return versionNum / 10000;
    }
}
