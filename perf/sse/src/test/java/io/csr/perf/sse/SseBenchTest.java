package io.csr.perf.sse;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SseBenchTest {
    @Test
    void sequenceIsReadFromTheVersionFieldOfTheSamePayloadEveryServerCarries() {
        assertThat(SseBench.sequenceOf("{\"companyId\":\"a\",\"count\":3,\"version\":12345,\"final\":false}")).isEqualTo(12345);
        assertThat(SseBench.sequenceOf("{\"companyId\":\"a\"}")).isEqualTo(-1);
        assertThat(SseBench.sequenceOf("{\"version\":null}")).isEqualTo(-1);
    }

    @Test
    void eachTargetSubscribesOnItsOwnPath() {
        assertThat(Target.OURS.subscribePath("/stream/updates", "acme")).isEqualTo("/stream/updates?companyId=acme");
        assertThat(Target.NCHAN.subscribePath("/sub/", "acme")).isEqualTo("/sub/acme");
        assertThat(Target.PUSHPIN.subscribePath("/sub", "acme")).isEqualTo("/sub/acme");
        assertThatThrownBy(() -> Target.parse("centrifugo")).hasMessageContaining("use ours, nchan or pushpin");
    }
}
