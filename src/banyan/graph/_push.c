/* Forward push for personalized PageRank: the loop of banyan.graph.push._push, compiled.
 *
 * push(indptr, indices, data, seeded, share, damping, eps, order, out)
 *   indptr (int64, n + 1), indices (int64), data (float64): a row-stochastic CSR matrix, row u
 *     holding where a walker at u goes;
 *   seeded (int64), share (float64): the seed nodes (distinct) and their shares of the mass;
 *   order (int64, n): the caller's number of each node; out (float64, n): written, out[order[u]]
 *     being u's settled mass plus what its own residual would keep. Returns None.
 * The interpreter lock is released while the loop runs. Every index read is bounds-checked.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static int take(PyObject *obj, Py_buffer *view, const char *name, Py_ssize_t itemsize, char kind, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    int ok = view->ndim == 1 && view->itemsize == itemsize;
    if (kind == 'f')
        ok = ok && *f == 'd';
    else
        ok = ok && (*f == 'q' || *f == 'l');
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "push: %s must be a contiguous 1-d array of %s", name,
                     kind == 'f' ? "float64" : "int64");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#define ENQUEUE(v)                                                                   \
    do {                                                                             \
        if (!queued[v] && residual[v] > eps * (double)(indptr[(v) + 1] - indptr[v] > 0 \
                                                   ? indptr[(v) + 1] - indptr[v] : 1)) { \
            queue[tail] = (v);                                                       \
            tail = tail < n ? tail + 1 : 0;                                          \
            queued[v] = 1;                                                           \
            waiting++;                                                               \
        }                                                                            \
    } while (0)

/* 0 on success, 1 when an index is out of range or a seed repeated */
static int run(int64_t n, const int64_t *indptr, const int64_t *indices, const double *data, int64_t n_edges,
               const int64_t *seeded, const double *share, int64_t n_seeds, double damping, double eps,
               double *settled, double *residual, int64_t *queue, uint8_t *queued) {
    int64_t head = 0, tail = 0, waiting = 0;
    for (int64_t i = 0; i < n_seeds; i++) {
        int64_t s = seeded[i];
        if (s < 0 || s >= n || queued[s])
            return 1;
        residual[s] = share[i];
        queue[tail++] = s;
        queued[s] = 1;
        waiting++;
    }
    while (waiting > 0) {
        int64_t u = queue[head];
        head = head < n ? head + 1 : 0;
        waiting--;
        queued[u] = 0;
        double mass = residual[u];
        int64_t start = indptr[u], end = indptr[u + 1];
        if (start < 0 || end < start || end > n_edges)
            return 1;
        if (mass <= eps * (double)(end > start ? end - start : 1))
            continue;
        settled[u] += (1.0 - damping) * mass;
        residual[u] = 0.0;
        double moving = damping * mass;
        if (start == end) { /* a dead end: its walkers jump back to the seeds */
            for (int64_t i = 0; i < n_seeds; i++) {
                int64_t v = seeded[i];
                residual[v] += moving * share[i];
                ENQUEUE(v);
            }
            continue;
        }
        for (int64_t j = start; j < end; j++) {
            int64_t v = indices[j];
            if (v < 0 || v >= n)
                return 1;
            residual[v] += moving * data[j];
            ENQUEUE(v);
        }
    }
    return 0;
}

/* run() on fresh work arrays, then out[order[u]] = settled[u] + (1 - damping) * residual[u]:
 * 0 on success, 1 for a bad index, 2 when memory ran out */
static int walk(int64_t n, const int64_t *indptr, const int64_t *indices, const double *data, int64_t n_edges,
                const int64_t *seeded, const double *share, int64_t n_seeds, double damping, double eps,
                const int64_t *order, double *out) {
    size_t size = (size_t)(n > 0 ? n : 1);
    double *settled = PyMem_RawCalloc(size, sizeof(double));
    double *residual = PyMem_RawCalloc(size, sizeof(double));
    int64_t *queue = PyMem_RawMalloc((size + 1) * sizeof(int64_t));
    uint8_t *queued = PyMem_RawCalloc(size, 1);
    int bad = 2;
    if (settled && residual && queue && queued) {
        bad = run(n, indptr, indices, data, n_edges, seeded, share, n_seeds, damping, eps, settled, residual, queue,
                  queued);
        for (int64_t u = 0; !bad && u < n; u++) {
            if (order[u] < 0 || order[u] >= n)
                bad = 1;
            else
                out[order[u]] = settled[u] + (1.0 - damping) * residual[u];
        }
    }
    PyMem_RawFree(settled);
    PyMem_RawFree(residual);
    PyMem_RawFree(queue);
    PyMem_RawFree(queued);
    return bad;
}

static PyObject *push(PyObject *self, PyObject *args) {
    (void)self;
    enum { N_ARRAYS = 9 };
    PyObject *objs[N_ARRAYS];
    double damping, eps;
    if (!PyArg_ParseTuple(args, "OOOOOddOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &damping, &eps,
                          &objs[7], &objs[8]))
        return NULL;
    static const char *names[N_ARRAYS] = {"indptr", "indices", "data", "seeded", "share", "", "", "order", "out"};
    static const char kinds[N_ARRAYS] = {'i', 'i', 'f', 'i', 'f', 0, 0, 'i', 'f'};
    Py_buffer views[N_ARRAYS];
    int taken[N_ARRAYS] = {0};
    PyObject *result = NULL;
    for (int k = 0; k < N_ARRAYS; k++) {
        if (!kinds[k])
            continue;
        if (take(objs[k], &views[k], names[k], 8, kinds[k], k == 8) < 0)
            goto done;
        taken[k] = 1;
    }
    Py_ssize_t n = views[0].shape[0] - 1;
    if (n < 0 || views[1].shape[0] != views[2].shape[0] || views[3].shape[0] != views[4].shape[0] ||
        views[7].shape[0] != n || views[8].shape[0] != n) {
        PyErr_SetString(PyExc_ValueError, "push: array lengths do not fit one graph of len(indptr) - 1 nodes");
        goto done;
    }
    if (!(damping > 0.0 && damping < 1.0) || !(eps > 0.0)) {
        PyErr_SetString(PyExc_ValueError, "push: damping must be in (0, 1) and eps above 0");
        goto done;
    }
    int bad;
    Py_BEGIN_ALLOW_THREADS
    bad = walk(n, views[0].buf, views[1].buf, views[2].buf, views[1].shape[0], views[3].buf, views[4].buf,
               views[3].shape[0], damping, eps, views[7].buf, views[8].buf);
    Py_END_ALLOW_THREADS
    if (bad == 2) {
        PyErr_NoMemory();
        goto done;
    }
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "push: a node index is out of range, or a seed is repeated");
        goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    for (int k = 0; k < N_ARRAYS; k++)
        if (taken[k])
            PyBuffer_Release(&views[k]);
    return result;
}

static PyMethodDef methods[] = {
    {"push", push, METH_VARARGS, "Forward push for personalized PageRank (see banyan.graph.push)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_push", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__push(void) { return PyModule_Create(&module); }
