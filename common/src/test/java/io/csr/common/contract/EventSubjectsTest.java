package io.csr.common.contract;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventSubjectsTest {

    /** Fixed values (also computed by an independent Python port), so a producer in another language can check its port of the function against them. */
    @ParameterizedTest(name = "{0} among {1} -> {2}")
    @CsvSource({"acme,4,3", "globex,4,2", "initech,4,1", "co-1,8,5", "co-2,8,4", "acme,1,0", "acme,256,175"})
    void partitionOfIsFnv1aOfTheUtf8BytesModuloTheCount(String company, int partitions, int expected) {
        assertThat(EventSubjects.partitionOf(company, partitions)).isEqualTo(expected);
        assertThat(Integer.remainderUnsigned(fnv1a(company), partitions)).as("the documented formula").isEqualTo(expected);
    }

    @Test
    void partitionsSpreadCompaniesEvenly() {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = 0; i < 8_000; i++) {
            counts.merge(EventSubjects.partitionOf("company-" + i, 8), 1, Integer::sum);
        }
        assertThat(counts).hasSize(8);
        assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(850, 1_150));
    }

    @Test
    void aProducerPublishesTheOriginalFormWithOnePartitionAndThePartitionedOneWithMore() {
        assertThat(EventSubjects.subject("metrics", "sroi", "acme", 1)).isEqualTo("metrics.sroi");
        assertThat(EventSubjects.subject("metrics", "sroi", "acme", 4)).isEqualTo("metrics.3.sroi");
        assertThat(EventSubjects.subject("journey", "onboarded", "initech", 4)).isEqualTo("journey.1.onboarded");
        assertThatThrownBy(() -> EventSubjects.subject("metrics", "sroi", "acme", 0)).hasMessageContaining("NATS_PARTITIONS=0 must be within [1, 256]");
        assertThatThrownBy(() -> EventSubjects.subject("metrics", "sroi", "acme", 257)).hasMessageContaining("NATS_PARTITIONS=257");
        assertThatThrownBy(() -> EventSubjects.subject("orders", "sroi", "acme", 2)).hasMessageContaining("family 'orders'");
        assertThatThrownBy(() -> EventSubjects.subject("metrics", "Bad.Name", "acme", 2)).hasMessageContaining("name 'Bad.Name'");
    }

    @Test
    void bothFormsParseAndRoundTrip() {
        assertThat(EventSubjects.parse("metrics.sroi")).isEqualTo(new EventSubjects.Subject("metrics", -1, "sroi"));
        assertThat(EventSubjects.parse("q2q.12.clarity")).isEqualTo(new EventSubjects.Subject("q2q", 12, "clarity"));
        assertThat(EventSubjects.parse("journey.0.onboarded").partitioned()).isTrue();
        for (String company : new String[] {"acme", "globex", "x"}) {
            EventSubjects.Subject s = EventSubjects.parse(EventSubjects.subject("metrics", "vis", company, 16));
            assertThat(s.partition()).isEqualTo(EventSubjects.partitionOf(company, 16));
            assertThat(s.name()).isEqualTo("vis");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "metrics.x.sroi|partition token 'x' must be a partition number 0..255 without leading zeros",
            "metrics.01.sroi|partition token '01'",
            "metrics.256.sroi|partition token '256'",
            "metrics..sroi|partition token ''",
            "metrics.1.sroi.x|has 4 tokens; expected metrics.<name> or metrics.<partition>.<name>",
            "metrics|has no name",
            "metrics.1.Sroi|name 'Sroi' must match [a-z0-9_]{1,64}",
            "orders.1.x|is not metrics.<metric>, journey.<flag> or q2q.<dimension>"})
    void aBadSubjectIsRefusedNamingTheBadToken(String subject, String reason) {
        assertThatThrownBy(() -> EventSubjects.parse(subject)).isInstanceOf(EventSubjects.InvalidSubject.class)
                .hasMessageContaining("'" + subject + "'").hasMessageContaining(reason);
    }

    private static int fnv1a(String s) {
        int h = 0x811c9dc5;
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x01000193;
        }
        return h;
    }
}
