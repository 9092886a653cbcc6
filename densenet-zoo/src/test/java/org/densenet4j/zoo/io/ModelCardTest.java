package org.densenet4j.zoo.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.junit.jupiter.api.Test;

/** A model card records the architecture (DenseNetConfig's JSON form); older cards read without it. */
class ModelCardTest {

    @Test
    void theArchitectureTravelsInTheCard() throws IOException {
        DenseNetConfig config = DenseNetPreset.FASHION_MNIST.config();
        ModelCard card = new ModelCard(ModelCard.STORED, 28, 28, 1, List.of("a"), Map.of())
                .withArchitecture(config.toJson());
        String json = card.toJson();
        assertTrue(json.contains("\"architecture\" : {"), json);
        ModelCard read = ModelCard.fromJson(json);
        assertEquals(config, DenseNetConfig.fromJson(read.architecture()).training(config.training()).build());
        assertEquals(card.withArchitecture(null), read.withArchitecture(null));
    }

    @Test
    void cardsWithoutAnArchitectureStillRead() throws IOException {
        ModelCard old = ModelCard.fromJson("{\"preprocessing\": \"stored\", \"input\": [28, 28, 1]}");
        assertNull(old.architecture());
        assertEquals(old, ModelCard.fromJson(old.toJson()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> old.withArchitecture("[1]"));
        assertTrue(e.getMessage().contains("architecture must be a JSON object"), e.getMessage());
    }
}
