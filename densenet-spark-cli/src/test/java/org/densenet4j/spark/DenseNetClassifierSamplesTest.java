package org.densenet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.preprocess.ImageClassifier;
import org.densenet4j.zoo.DenseNetPreset;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DenseNetClassifier in local[2] on the Fashion-MNIST test samples the examples module bundles, with
 * the bundled model: the model's own probabilities, its stored labels, and a row with an error for
 * a file that does not decode.
 */
class DenseNetClassifierSamplesTest extends LocalSparkTest {

    @Test
    void theClassifierGivesTheModelsProbabilitiesAndLabelsAndAnErrorForWhatDoesNotDecode() throws IOException {
        Path images = dir.resolve("samples");
        Files.createDirectories(images);
        List<String> names;
        try (var index = FashionMnist.class.getResourceAsStream(FashionMnist.SAMPLES + "index.txt")) {
            names = new String(index.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines()
                    .map(String::trim).filter(l -> l.endsWith(".png")).limit(12).toList();
        }
        assertEquals(12, names.size());
        for (String file : names) {
            try (var in = FashionMnist.class.getResourceAsStream(FashionMnist.SAMPLES + file)) {
                Files.copy(in, images.resolve(file));
            }
        }
        Files.write(images.resolve("broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2});
        Dataset<Row> out = new DenseNetClassifier().setModel("densenet-fmnist").setInputCol("content").setBatchSize(5)
                .transform(spark.read().format("binaryFile").load(images.toString()));
        ImageClassifier model = ImageClassifier.pretrained(DenseNetPreset.FASHION_MNIST);
        int right = 0;
        for (Row r : out.collectAsList()) {
            String path = ImagePaths.local(r.getString(r.fieldIndex("path")));
            if (path.endsWith("broken.png")) {
                assertNull(r.get(r.fieldIndex("probability")));
                assertTrue(r.getString(r.fieldIndex("error")).contains("broken.png"),
                        r.getString(r.fieldIndex("error")));
                continue;
            }
            assertNull(r.get(r.fieldIndex("error")));
            INDArray x = model.preprocess(List.of(Path.of(path)));
            INDArray expected = CompiledGraph.inference(model.net()).apply(x);
            Vector p = (Vector) r.get(r.fieldIndex("probability"));
            for (int k = 0; k < 10; k++) {
                assertEquals(expected.getDouble(0, k), p.apply(k), 1e-5, path + " class " + k);
            }
            int predicted = (int) r.getDouble(r.fieldIndex("prediction"));
            assertEquals(FashionMnist.LABELS.get(predicted), r.getString(r.fieldIndex("predictedLabel")));
            int truth = Integer.parseInt(Path.of(path).getFileName().toString().replaceAll("^\\d+_(\\d+)\\.png$",
                    "$1"));
            right += predicted == truth ? 1 : 0;
        }
        assertTrue(right >= 10, right + " of 12 samples right (the model is 93.6% accurate)");
    }
}
