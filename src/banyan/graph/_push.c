/* Forward push for personalized PageRank: the loop of banyan.graph.push._push, compiled.
 *
 * push(indptr, indices, data, seeded, share, damping, eps, max_work, order, nodes, scores) -> int
 *   indptr (n + 1) and indices, both int32 or both int64, and data (float64): a row-stochastic CSR
 *     matrix, row u holding where a walker at u goes;
 *   seeded (int64), share (float64): the seed nodes (distinct) and their shares of the mass;
 *   max_work: the most matrix entries the pushes may read;
 *   order (int64, n): the caller's number of each node (a permutation);
 *   nodes (int64, n), scores (float64, n): written, the first m of each: the caller's numbers of the
 *     m nodes the walk reached (in the order it reached them) and their scores, a node's settled
 *     mass plus what its own residual would keep. Every other node scores 0.
 * Returns m, or -1 where the pushes stopped at max_work (nodes and scores are then not written).
 * The work is in the nodes reached and the entries read, not in the size of the graph: the work
 * arrays are zeroed lazily by the allocator and only the reached nodes are read back.
 * The interpreter lock is released while the loop runs. Every index is checked before it is used.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { OK = 0, BAD_INDEX = 1, NO_MEMORY = 2, OVER_BUDGET = 3 };

/* kind: 'f' float64, 'i' int64, 'x' int32 or int64 */
static int take(PyObject *obj, Py_buffer *view, const char *name, char kind, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *f = view->format ? view->format : "B";
    if (*f == '=' || *f == '@' || (*f == '<' && PY_LITTLE_ENDIAN))
        f++;
    int ok = view->ndim == 1;
    if (kind == 'f')
        ok = ok && view->itemsize == 8 && *f == 'd';
    else if (kind == 'i' || view->itemsize == 8)
        ok = ok && view->itemsize == 8 && (*f == 'q' || *f == 'l');
    else
        ok = ok && view->itemsize == 4 && (*f == 'i' || *f == 'l');
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "push: %s must be a contiguous 1-d array of %s", name,
                     kind == 'f' ? "float64" : kind == 'i' ? "int64" : "int32 or int64");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The push loop for CSR index arrays of type IDX, on zeroed settled, residual, queued and reached
 * and a queue of n + 1 slots (a ring in which a node is at most once). reached lists the nodes
 * whose residual was ever raised, in that order; *m their count. */
#define DEFINE_RUN(NAME, IDX)                                                                              \
    static int NAME(int64_t n, const IDX *indptr, const IDX *indices, const double *data, int64_t n_edges,   \
                    const int64_t *seeded, const double *share, int64_t n_seeds, double damping, double eps,   \
                    int64_t max_work, double *settled, double *residual, int64_t *queue, uint8_t *queued,      \
                    uint8_t *seen, int64_t *reached, int64_t *m) {                                             \
        int64_t head = 0, tail = 0, waiting = 0, work = 0;                                                  \
        for (int64_t i = 0; i < n_seeds; i++) {                                                             \
            int64_t s = seeded[i];                                                                          \
            if (s < 0 || s >= n || queued[s])                                                               \
                return BAD_INDEX;                                                                           \
            residual[s] = share[i];                                                                         \
            queue[tail++] = s;                                                                              \
            queued[s] = 1;                                                                                  \
            seen[s] = 1;                                                                                    \
            reached[(*m)++] = s;                                                                            \
            waiting++;                                                                                      \
        }                                                                                                   \
        while (waiting > 0) {                                                                               \
            int64_t u = queue[head];                                                                        \
            head = head < n ? head + 1 : 0;                                                                 \
            waiting--;                                                                                      \
            queued[u] = 0;                                                                                  \
            double mass = residual[u];                                                                      \
            int64_t start = indptr[u], end = indptr[u + 1];                                                 \
            if (start < 0 || end < start || end > n_edges)                                                  \
                return BAD_INDEX;                                                                           \
            if (mass <= eps * (double)(end > start ? end - start : 1))                                      \
                continue;                                                                                   \
            work += end > start ? end - start : n_seeds;                                                    \
            if (work > max_work)                                                                            \
                return OVER_BUDGET;                                                                         \
            settled[u] += (1.0 - damping) * mass;                                                           \
            residual[u] = 0.0;                                                                              \
            double moving = damping * mass;                                                                 \
            for (int64_t j = start; j < end || (start == end && j - start < n_seeds); j++) {                \
                /* a dead end's walkers jump back to the seeds */                                           \
                int64_t v = start == end ? seeded[j - start] : (int64_t)indices[j];                         \
                if (v < 0 || v >= n)                                                                        \
                    return BAD_INDEX;                                                                       \
                residual[v] += moving * (start == end ? share[j - start] : data[j]);                        \
                if (!seen[v]) {                                                                             \
                    seen[v] = 1;                                                                            \
                    reached[(*m)++] = v;                                                                    \
                }                                                                                           \
                int64_t degree = (int64_t)indptr[v + 1] - (int64_t)indptr[v];                               \
                if (!queued[v] && residual[v] > eps * (double)(degree > 0 ? degree : 1)) {                  \
                    queue[tail] = v;                                                                        \
                    tail = tail < n ? tail + 1 : 0;                                                         \
                    queued[v] = 1;                                                                          \
                    waiting++;                                                                              \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        return OK;                                                                                          \
    }

DEFINE_RUN(run32, int32_t)
DEFINE_RUN(run64, int64_t)

/* run on fresh work arrays, then the reached nodes' caller numbers and scores into nodes and
 * scores; *m their count */
static int walk(int wide, int64_t n, const void *indptr, const void *indices, const double *data, int64_t n_edges,
                const int64_t *seeded, const double *share, int64_t n_seeds, double damping, double eps,
                int64_t max_work, const int64_t *order, int64_t *nodes, double *scores, int64_t *m) {
    size_t size = (size_t)(n > 0 ? n : 1);
    /* calloc: large blocks come zeroed from the system a page at a time, so a walk that reaches few
     * nodes touches few pages */
    double *settled = PyMem_RawCalloc(size, sizeof(double));
    double *residual = PyMem_RawCalloc(size, sizeof(double));
    int64_t *queue = PyMem_RawMalloc((size + 1) * sizeof(int64_t));
    uint8_t *queued = PyMem_RawCalloc(size, 1);
    uint8_t *seen = PyMem_RawCalloc(size, 1);
    int64_t *reached = PyMem_RawMalloc(size * sizeof(int64_t));
    int status = NO_MEMORY;
    *m = 0;
    if (settled && residual && queue && queued && seen && reached) {
        status = wide ? run64(n, indptr, indices, data, n_edges, seeded, share, n_seeds, damping, eps, max_work,
                              settled, residual, queue, queued, seen, reached, m)
                      : run32(n, indptr, indices, data, n_edges, seeded, share, n_seeds, damping, eps, max_work,
                              settled, residual, queue, queued, seen, reached, m);
        for (int64_t i = 0; status == OK && i < *m; i++) {
            int64_t u = reached[i], at = order[u];
            if (at < 0 || at >= n) {
                status = BAD_INDEX;
                break;
            }
            nodes[i] = at;
            scores[i] = settled[u] + (1.0 - damping) * residual[u];
        }
    }
    PyMem_RawFree(settled);
    PyMem_RawFree(residual);
    PyMem_RawFree(queue);
    PyMem_RawFree(queued);
    PyMem_RawFree(seen);
    PyMem_RawFree(reached);
    return status;
}

static PyObject *push(PyObject *self, PyObject *args) {
    (void)self;
    enum { N_ARGS = 11 };
    PyObject *objs[N_ARGS];
    double damping, eps;
    long long max_work;
    if (!PyArg_ParseTuple(args, "OOOOOddLOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &damping, &eps,
                          &max_work, &objs[8], &objs[9], &objs[10]))
        return NULL;
    static const char *names[N_ARGS] = {"indptr", "indices", "data", "seeded", "share", "", "", "", "order",
                                        "nodes", "scores"};
    static const char kinds[N_ARGS] = {'x', 'x', 'f', 'i', 'f', 0, 0, 0, 'i', 'i', 'f'};
    Py_buffer views[N_ARGS];
    int taken[N_ARGS] = {0};
    PyObject *result = NULL;
    for (int k = 0; k < N_ARGS; k++) {
        if (!kinds[k])
            continue;
        if (take(objs[k], &views[k], names[k], kinds[k], k >= 9) < 0)
            goto done;
        taken[k] = 1;
    }
    Py_ssize_t n = views[0].shape[0] - 1;
    if (n < 0 || views[0].itemsize != views[1].itemsize || views[1].shape[0] != views[2].shape[0] ||
        views[3].shape[0] != views[4].shape[0] || views[8].shape[0] != n || views[9].shape[0] != n ||
        views[10].shape[0] != n) {
        PyErr_SetString(PyExc_ValueError, "push: array lengths or index widths do not fit one graph of len(indptr) "
                                          "- 1 nodes");
        goto done;
    }
    if (!(damping > 0.0 && damping < 1.0) || !(eps > 0.0) || max_work < 0) {
        PyErr_SetString(PyExc_ValueError, "push: damping must be in (0, 1), eps above 0 and max_work at least 0");
        goto done;
    }
    int status;
    int64_t m = 0;
    int wide = views[0].itemsize == 8;
    Py_BEGIN_ALLOW_THREADS
    status = walk(wide, n, views[0].buf, views[1].buf, views[2].buf, views[1].shape[0], views[3].buf, views[4].buf,
                  views[3].shape[0], damping, eps, (int64_t)max_work, views[8].buf, views[9].buf, views[10].buf, &m);
    Py_END_ALLOW_THREADS
    if (status == NO_MEMORY) {
        PyErr_NoMemory();
        goto done;
    }
    if (status == BAD_INDEX) {
        PyErr_SetString(PyExc_ValueError, "push: a node index is out of range, a row's bounds are invalid or a seed "
                                          "is repeated");
        goto done;
    }
    result = PyLong_FromLongLong(status == OK ? (long long)m : -1);
done:
    for (int k = 0; k < N_ARGS; k++)
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
