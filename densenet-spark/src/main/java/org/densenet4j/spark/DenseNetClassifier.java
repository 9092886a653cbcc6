package org.densenet4j.spark;

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * A Spark ML {@code Transformer} from an image column to the DenseNet's class probabilities (an ML
 * {@code Vector}), the predicted class index (a double, as Spark's classifiers give it) and its name
 * from the model's stored labels (ImageNet's for a 1000-class model; null when there are none).
 */
public final class DenseNetClassifier extends DenseNetTransformer {

    private static final long serialVersionUID = 1L;

    private final Param<String> probabilityCol;
    private final Param<String> predictionCol;
    private final Param<String> labelCol;

    public DenseNetClassifier() {
        this(Identifiable.randomUID("densenetClassifier"));
    }

    public DenseNetClassifier(String uid) {
        super(uid);
        probabilityCol = new Param<>(this, "probabilityCol", "the class probabilities column");
        predictionCol = new Param<>(this, "predictionCol", "the predicted class index column");
        labelCol = new Param<>(this, "predictedLabelCol", "the predicted class name column");
        setDefault(probabilityCol, "probability");
        setDefault(predictionCol, "prediction");
        setDefault(labelCol, "predictedLabel");
    }

    public Param<String> probabilityCol() {
        return probabilityCol;
    }

    public Param<String> predictionCol() {
        return predictionCol;
    }

    public Param<String> predictedLabelCol() {
        return labelCol;
    }

    public DenseNetClassifier setProbabilityCol(String value) {
        set(probabilityCol, value);
        return this;
    }

    public DenseNetClassifier setPredictionCol(String value) {
        set(predictionCol, value);
        return this;
    }

    public DenseNetClassifier setPredictedLabelCol(String value) {
        set(labelCol, value);
        return this;
    }

    @Override
    protected List<StructField> outputFields() {
        return List.of(DataTypes.createStructField($(probabilityCol), SQLDataTypes.VectorType(), true),
                DataTypes.createStructField($(predictionCol), DataTypes.DoubleType, true),
                DataTypes.createStructField($(labelCol), DataTypes.StringType, true));
    }

    @Override
    protected Computation computation() {
        return (runner, images) -> {
            List<String> labels = runner.labels();
            List<Object[]> out = new ArrayList<>();
            for (float[] p : runner.probabilities(images)) {
                int best = 0;
                for (int k = 1; k < p.length; k++) {
                    if (p[k] > p[best]) {
                        best = k;
                    }
                }
                out.add(new Object[] {Vectors.dense(DenseNetFeaturizer.toDoubles(p)), (double) best,
                        labels != null ? labels.get(best) : null});
            }
            return out;
        };
    }

    @Override
    public DenseNetClassifier copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads a classifier saved with {@code write().save(path)} (and in a saved {@code Pipeline}). */
    public static MLReader<DenseNetClassifier> read() {
        return new DefaultParamsReader<>();
    }

    public static DenseNetClassifier load(String path) {
        return read().load(path);
    }
}
