package io.pgferry.agent.schemaapply;

class SchemaPipeline16To16Test extends SchemaPipelineContract {
    @Override
    int sourceMajor() {
        return 16;
    }

    @Override
    int targetMajor() {
        return 16;
    }
}
