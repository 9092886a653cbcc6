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
 * A Spark ML {@code Transformer} from an image column to the DenseNet's pooled features (the input
 * of {@code fc6}, e.g. 1024 values for DenseNet-121) as an ML {@code Vector}: transfer learning in a
 * {@code Pipeline}, with Spark's own classifiers on top, as Deep Learning Pipelines'
 * {@code DeepImageFeaturizer} does.
 *
 * <pre>{@code
 * Dataset<Row> images = spark.read().format("binaryFile").load("photos/");
 * new DenseNetFeaturizer().setModel("densenet121").setInputCol("content").transform(images);
 * }</pre>
 */
public final class DenseNetFeaturizer extends DenseNetTransformer {

    private static final long serialVersionUID = 1L;

    private final Param<String> outputCol;

    public DenseNetFeaturizer() {
        this(Identifiable.randomUID("densenetFeaturizer"));
    }

    public DenseNetFeaturizer(String uid) {
        super(uid);
        outputCol = new Param<>(this, "outputCol", "the features column");
        setDefault(outputCol, "features");
    }

    /** The features column (default {@code features}). */
    public Param<String> outputCol() {
        return outputCol;
    }

    public DenseNetFeaturizer setOutputCol(String value) {
        set(outputCol, value);
        return this;
    }

    public String getOutputCol() {
        return $(outputCol);
    }

    @Override
    protected List<StructField> outputFields() {
        return List.of(DataTypes.createStructField(getOutputCol(), SQLDataTypes.VectorType(), true));
    }

    @Override
    protected Computation computation() {
        return (runner, images) -> {
            List<Object[]> out = new ArrayList<>();
            for (float[] f : runner.features(images)) {
                out.add(new Object[] {Vectors.dense(toDoubles(f))});
            }
            return out;
        };
    }

    static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Override
    public DenseNetFeaturizer copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads a featurizer saved with {@code write().save(path)} (and in a saved {@code Pipeline}). */
    public static MLReader<DenseNetFeaturizer> read() {
        return new DefaultParamsReader<>();
    }

    public static DenseNetFeaturizer load(String path) {
        return read().load(path);
    }
}
