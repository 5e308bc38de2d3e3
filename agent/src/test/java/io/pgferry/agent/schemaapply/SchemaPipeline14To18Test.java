package io.pgferry.agent.schemaapply;

/** An old source to the newest target: the target's pg_restore reads an older pg_dump's archive. */
class SchemaPipeline14To18Test extends SchemaPipelineContract {
    @Override
    int sourceMajor() {
        return 14;
    }

    @Override
    int targetMajor() {
        return 18;
    }
}
