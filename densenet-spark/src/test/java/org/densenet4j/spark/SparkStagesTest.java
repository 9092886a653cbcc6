package org.densenet4j.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.when;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.preprocess.ImageClassifier;
import org.junit.jupiter.api.Test;

/**
 * The Spark ML stages in local[2]: a Pipeline of DenseNetFeaturizer and LogisticRegression fitted,
 * saved, loaded and applied gives the same predictions; the image data source and binaryFile give
 * the same features as the model's own preprocessing. (DenseNetClassifier on the Fashion-MNIST
 * samples, which the examples module holds, is tested in densenet-spark-cli.)
 */
class SparkStagesTest extends LocalSparkTest {

    @Test
    void aPipelineOfFeaturizerAndLogisticRegressionSurvivesSavingAndLoading() throws IOException {
        Path zip = SparkFixtures.rgbModel(dir);
        Path images = dir.resolve("images");
        SparkFixtures.colourImages(images, 10, 11);
        Dataset<Row> data = spark.read().format("image").load(images.toString()).repartition(2)
                .withColumn("label", when(col("image.origin").contains("/red-"), 1.0).otherwise(0.0));

        DenseNetFeaturizer featurizer = new DenseNetFeaturizer();
        featurizer.setModel(zip.toString()).setBatchSize(3);
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {featurizer,
                new LogisticRegression().setMaxIter(50).setRegParam(0.01)});
        PipelineModel fitted = pipeline.fit(data);
        Map<String, Double> before = predictions(fitted.transform(data));
        assertEquals(20, before.size());
        long right = before.entrySet().stream().filter(e -> e.getValue() == (e.getKey().contains("/red-") ? 1.0
                : 0.0)).count();
        assertTrue(right >= 18, "red against blue from the features: " + right + " of 20 right");

        Path saved = dir.resolve("pipeline");
        fitted.write().overwrite().save(saved.toString());
        PipelineModel loaded = PipelineModel.load(saved.toString());
        DenseNetFeaturizer reloaded = (DenseNetFeaturizer) loaded.stages()[0];
        assertEquals(zip.toString(), reloaded.getModel());
        assertEquals(3, reloaded.getBatchSize());
        assertEquals(featurizer.uid(), reloaded.uid());
        assertEquals(before, predictions(loaded.transform(data)));
    }

    @Test
    void theImageDataSourceAndBinaryFilesGiveTheSameFeatures() throws IOException {
        Path zip = SparkFixtures.rgbModel(dir);
        Path images = dir.resolve("images");
        SparkFixtures.colourImages(images, 4, 5);
        Map<String, double[]> fromPixels = features(new DenseNetFeaturizer().setModel(zip.toString())
                .transform(spark.read().format("image").load(images.toString())), "image.origin");
        Map<String, double[]> fromFiles =
                features(new DenseNetFeaturizer().setModel(zip.toString()).setInputCol("content")
                .transform(spark.read().format("binaryFile").load(images.toString())), "path");
        assertEquals(8, fromPixels.size());
        assertEquals(fromFiles.keySet(), fromPixels.keySet());
        ImageClassifier model = ImageClassifier.read(zip);
        var extract = CompiledGraph.inference(model.net(), model.featureLayer());
        for (String name : fromFiles.keySet()) {
            double[] a = fromFiles.get(name);
            double[] b = fromPixels.get(name);
            // the card's transform (shorter side 36, crop 32), as the model's own preprocess applies it
            double[] c = extract.apply(model.preprocess(List.of(Path.of(name)))).toDoubleVector();
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-5 * Math.max(1, Math.abs(a[i])), name + " feature " + i);
                assertEquals(c[i], a[i], 1e-5 * Math.max(1, Math.abs(c[i])), name + " feature " + i
                        + " against preprocess");
            }
        }
    }

    @Test
    void aMissingColumnOrModelIsAClearError() {
        Dataset<Row> files = spark.read().format("binaryFile").load(dir.toString());
        IllegalArgumentException noColumn = assertThrows(IllegalArgumentException.class,
                () -> new DenseNetFeaturizer().setModel("densenet-fmnist").transform(files));
        assertTrue(noColumn.getMessage().contains("no column 'image'"), noColumn.getMessage());
        IllegalArgumentException noModel = assertThrows(IllegalArgumentException.class,
                () -> new DenseNetFeaturizer().setInputCol("content").transform(files));
        assertTrue(noModel.getMessage().contains("set the model"), noModel.getMessage());
    }

    private static Map<String, Double> predictions(Dataset<Row> out) {
        Map<String, Double> m = new HashMap<>();
        for (Row r : out.select(col("image.origin"), col("prediction")).collectAsList()) {
            m.put(r.getString(0), r.getDouble(1));
        }
        return m;
    }

    private static Map<String, double[]> features(Dataset<Row> out, String name) {
        Map<String, double[]> m = new HashMap<>();
        for (Row r : out.select(col(name), col("features")).collectAsList()) {
            assertNotNull(r.get(1), r.getString(0));
            m.put(ImagePaths.local(r.getString(0)), ((Vector) r.get(1)).toArray());
        }
        return m;
    }
}
