// CommonJS works as well as ES modules: `module.exports = async (event, context) => result`.
module.exports = async (event) => {
  const name = typeof event?.name === 'string' && event.name ? event.name : 'world';
  return { message: `hello, ${name}` };
};
