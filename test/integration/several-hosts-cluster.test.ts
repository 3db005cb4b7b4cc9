// Two gateways on two engines sharing one Redis Cluster (six redis-servers this test starts): the
// suite is test/helpers/several-hosts-suite.ts; several-hosts.test.ts runs it on one redis-server.
import { redisCluster } from '../helpers/redis-backends.ts';
import { severalHostsSuite } from '../helpers/several-hosts-suite.ts';

severalHostsSuite(redisCluster);
