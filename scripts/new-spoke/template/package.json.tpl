{
  "name": "@hubspoke/{{name}}-service",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "main": "dist/main.js",
  "scripts": {
    "build": "tsc -b",
    "start": "node dist/main.js",
    "dev": "node --conditions=hubspoke-source --import tsx --watch src/main.ts"
  },
  "dependencies": { "@hubspoke/contracts": "*", "@hubspoke/kit": "*", "express": "^5.2.0", "zod": "^4.3.0" }
}
